import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifyWebhook } from '../../activities/share/webhook-signature';

/**
 * A real HTTP webhook receiver for tests: it checks signatures and drops duplicates by Idempotency-Key the way a
 * well-behaved production receiver would, and can be made to fail or go silent to exercise retries.
 */
export type ReceiverMode = 'ok' | 'fail-500' | 'down';

export interface ReceivedPost {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  idempotencyKey: string | undefined;
  rawBody: string;
  /** The parsed JSON body, or undefined if it was not JSON. */
  body: unknown;
  signatureValid: boolean;
  /** What the receiver answered. */
  status: number;
  /** When the whole request had arrived (ms since the epoch). */
  receivedAt: number;
}

export interface WebhookReceiver {
  url: string;
  /** Every request that reached the receiver, in order, whatever it answered. */
  posts: ReceivedPost[];
  /** What a person would see in the channel: each Idempotency-Key once. */
  accepted: ReceivedPost[];
  /** 'down' resets every connection without answering, as a crashed or unreachable receiver would. */
  setMode(mode: ReceiverMode): void;
  /** Answer 500 to the next n requests. */
  failNext(n: number): void;
  close(): Promise<void>;
}

export interface WebhookReceiverOptions {
  secret: string;
  /**
   * Called (and awaited) for every request once it has been read and recorded in `posts`, before the receiver
   * decides and sends its answer: crash tests use it to kill the sender after delivery but before it hears back.
   */
  onPost?: (post: ReceivedPost) => void | Promise<void>;
}

export async function startWebhookReceiver(options: WebhookReceiverOptions): Promise<WebhookReceiver> {
  let mode: ReceiverMode = 'ok';
  let failures = 0;
  const posts: ReceivedPost[] = [];
  const accepted: ReceivedPost[] = [];
  const seen = new Set<string>();

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const rawBody = Buffer.concat(chunks).toString('utf8');
    let body: unknown;
    try {
      body = JSON.parse(rawBody);
    } catch {
      body = undefined;
    }
    const key = req.headers['idempotency-key'];
    const post: ReceivedPost = {
      method: req.method ?? '',
      path: req.url ?? '',
      headers: req.headers,
      idempotencyKey: Array.isArray(key) ? key[0] : key,
      rawBody,
      body,
      signatureValid: verifyWebhook(options.secret, req.headers, rawBody),
      status: 0,
      receivedAt: Date.now(),
    };
    posts.push(post);
    await options.onPost?.(post);
    const answer = (status: number, json: object, headers: http.OutgoingHttpHeaders = {}) => {
      post.status = status;
      res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(json));
    };

    if (failures > 0 || mode === 'fail-500') {
      failures = Math.max(0, failures - 1);
      return answer(500, { error: 'simulated failure' });
    }
    if (!post.signatureValid) return answer(401, { error: 'invalid signature' });
    if (!post.idempotencyKey || body === undefined) {
      return answer(400, { error: 'expected a JSON body and an Idempotency-Key header' });
    }
    if (seen.has(post.idempotencyKey)) {
      return answer(200, { ok: true, duplicate: true }, { 'idempotency-replayed': 'true' });
    }
    seen.add(post.idempotencyKey);
    accepted.push(post);
    answer(200, { ok: true, duplicate: false });
  }

  // A client that disconnects mid-request (a killed worker, in crash tests) must not take the test process down.
  const server = http.createServer((req, res) => void handle(req, res).catch(() => res.destroy()));
  server.on('connection', (socket) => {
    if (mode === 'down') socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/webhook`,
    posts,
    accepted,
    setMode(next) {
      mode = next;
      // Kept-alive connections would otherwise still be served.
      if (next === 'down') server.closeAllConnections();
    },
    failNext(n) {
      failures = n;
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
