import { setTimeout as sleep } from 'node:timers/promises';
import { innermostMessage } from '../common/failures';
import type { RunView } from './run-view';

/** What a subscriber is told: each new view of the run, a passing problem, and the end once the run has closed. */
export interface RunListener {
  view(view: RunView): void;
  problem(message: string): void;
  end(): void;
}

/**
 * Live run views for server-sent events. The server, not the browser, looks at the run: one loop per watched run,
 * shared by every page that has it open, asks for a fresh view every `everyMs` and passes it on only when it
 * changed. A query costs one round trip and no history events, so watching never slows the run down.
 */
export function createRunEvents(viewOf: (workflowId: string) => Promise<RunView>, everyMs = 250) {
  const watched = new Map<string, Set<RunListener>>();
  let stopped = false;

  async function watch(workflowId: string, listeners: Set<RunListener>): Promise<void> {
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
    subscribe(workflowId: string, listener: RunListener): () => void {
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
