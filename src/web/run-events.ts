import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyReply } from 'fastify';
import { innermostMessage } from '../common/failures';

/** A view of a workflow (a photo's run, an album): RUNNING until it closes. */
interface Live {
  status: string;
}

/** What a subscriber is told: each new view of the run, a passing problem, and the end once the run has closed. */
export interface RunListener<V extends Live> {
  view(view: V): void;
  problem(message: string): void;
  end(): void;
}

/**
 * Live run views for server-sent events. The server, not the browser, looks at the run: one loop per watched run,
 * shared by every page that has it open, asks for a fresh view every `everyMs` and passes it on only when it
 * changed. A query costs one round trip and no history events, so watching never slows the run down.
 */
export function createRunEvents<V extends Live>(viewOf: (workflowId: string) => Promise<V>, everyMs = 250) {
  const watched = new Map<string, Set<RunListener<V>>>();
  let stopped = false;

  async function watch(workflowId: string, listeners: Set<RunListener<V>>): Promise<void> {
    let last = '';
    let lastProblem = '';
    while (listeners.size > 0 && !stopped) {
      try {
        const view = await viewOf(workflowId);
        const json = JSON.stringify(view);
        if (json !== last) for (const l of listeners) l.view(view);
        last = json;
        lastProblem = '';
        if (view.status !== 'RUNNING') {
          for (const l of listeners) l.end();
          listeners.clear();
        }
      } catch (err) {
        // The server may be restarting: say so once, keep trying.
        const message = innermostMessage(err);
        if (message !== lastProblem) for (const l of listeners) l.problem(message);
        lastProblem = message;
      }
      await sleep(everyMs);
    }
    watched.delete(workflowId);
  }

  return {
    /** Starts telling `listener` about the run; the returned function stops it. */
    subscribe(workflowId: string, listener: RunListener<V>): () => void {
      const listeners = watched.get(workflowId) ?? new Set();
      listeners.add(listener);
      if (!watched.has(workflowId)) {
        watched.set(workflowId, listeners);
        void watch(workflowId, listeners);
      }
      return () => listeners.delete(listener);
    },
    /** Ends every loop (the server is closing). */
    stop(): void {
      stopped = true;
      for (const listeners of watched.values()) for (const l of listeners) l.end();
      watched.clear();
    },
  };
}

/**
 * Answers a request with the event stream of one workflow: `view` with each new state, `problem` while it cannot be
 * read, `end` once it closed. The first view is read before the stream starts, so an unknown ID is a JSON 404.
 */
export async function streamViews<V extends Live>(
  reply: FastifyReply,
  workflowId: string,
  viewOf: (workflowId: string) => Promise<V>,
  events: ReturnType<typeof createRunEvents<V>>,
): Promise<void> {
  const first = await viewOf(workflowId);
  reply.hijack();
  const out = reply.raw;
  out.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  });
  const send = (event: string, data: unknown) => out.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  send('view', first);
  if (first.status !== 'RUNNING') {
    send('end', {});
    out.end();
    return;
  }
  // A comment now and then keeps proxies from closing a quiet stream (a run waiting a day for review).
  const keepAlive = setInterval(() => out.write(': keep-alive\n\n'), 15_000);
  const stop = events.subscribe(workflowId, {
    view: (view) => send('view', view),
    problem: (message) => send('problem', { error: message }),
    end: () => {
      send('end', {});
      out.end();
    },
  });
  // The response's close, not the request's: a request closes as soon as its (empty) body has been read.
  out.on('close', () => {
    clearInterval(keepAlive);
    stop();
  });
}
