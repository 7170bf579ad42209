import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WorkflowFailedError, type Client, type WorkflowHandle } from '@temporalio/client';
import sharp from 'sharp';
import { verifyWebhook } from '../../activities/share/webhook-signature';
import { processPhoto, progressQuery, reviewUpdate } from '../../workflows';
import { TASK_QUEUES } from '../common/task-queues';
import type { ProcessPhotoInput } from '../common/workflow-io';
import { historyToJson } from './history-json';
import { startPhotoRun } from './photo-runs';

/**
 * The scenarios `npm run record-histories` records for the replay test (test/replay.test.ts), and how one is
 * recorded: run to the end it must reach, checked for claim-checked payloads, written as the CLI's history JSON.
 */

export const RECEIVER_SECRET = 'record-histories-secret';

/** A tiny noisy JPEG: real pixels, so every filter does real work, yet a few KB. Only its blob key reaches history. */
export async function smallJpeg(width: number, height: number): Promise<Buffer> {
  return sharp({
    create: { width, height, channels: 3, background: '#336699', noise: { type: 'gaussian', mean: 128, sigma: 40 } },
  })
    .jpeg({ quality: 80 })
    .toBuffer();
}

/**
 * A signed-webhook receiver that accepts posts (checking the signature) or, in mode 'gone', answers 410 Gone (for
 * good) or, in mode 'unavailable', 503 (try again later).
 */
export async function startReceiver(secret: string) {
  let mode: 'ok' | 'gone' | 'unavailable' = 'ok';
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const answer = (status: number, json: object) =>
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(json));
      if (mode === 'gone') answer(410, { error: 'this channel was archived' });
      else if (mode === 'unavailable') answer(503, { error: 'try again later' });
      else if (!verifyWebhook(secret, req.headers, body)) answer(401, { error: 'invalid signature' });
      else answer(200, { ok: true, duplicate: false });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/photos`,
    setMode(value: typeof mode) {
      mode = value;
    },
    close() {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

type Receiver = Awaited<ReturnType<typeof startReceiver>>;

export interface Scenario {
  name: string;
  about: string;
  input(photo: string): ProcessPhotoInput;
  /** Run just before the workflow starts. */
  setup?(receiver: Receiver): void;
  /** Run while the workflow runs, e.g. to send it an Update or cancel it. */
  during?(handle: WorkflowHandle<typeof processPhoto>): Promise<void>;
  /**
   * Started as `temporal workflow start` starts a run: without the memo and search attributes that the project's
   * clients send (src/lib/photo-runs.ts), so the run sets them itself.
   */
  byHand?: true;
  /** The run must end this way, or nothing is written: a fixture must be what its name says. */
  expect: { completes: true } | { failsWith: RegExp };
}

const successInput = (photo: string): ProcessPhotoInput => ({
  source: { path: photo },
  filters: [
    { filter: 'resize', params: { width: 64 } },
    { filter: 'sepia' },
    { filter: 'watermark', params: { text: 'nano-photos' } },
    { filter: 'output', params: { format: 'jpeg', quality: 80 } },
  ],
  share: ['gallery', 'webhook'],
  title: 'Replay fixture',
});

export const SCENARIOS: Scenario[] = [
  {
    name: 'success',
    about: 'resize, sepia, watermark and a JPEG output, shared to the gallery and the webhook',
    input: successInput,
    expect: { completes: true },
  },
  {
    name: 'success-by-hand',
    about: 'the success scenario started without the memo and search attributes the clients send',
    input: successInput,
    byHand: true,
    expect: { completes: true },
  },
  {
    name: 'fused',
    about: "the success scenario's chain with fuse: true: the filters as one applyChain activity",
    input: (photo) => ({ ...successInput(photo), fuse: true }),
    expect: { completes: true },
  },
  {
    name: 'held',
    about: "the success scenario's chain with intermediates: 'memory': each step's result held by its filter worker",
    input: (photo) => ({ ...successInput(photo), intermediates: 'memory' }),
    expect: { completes: true },
  },
  {
    name: 'invalid-input',
    about: 'an out-of-range parameter: the workflow rejects the request before any service runs',
    input: (photo) => ({
      source: { path: photo },
      filters: [{ filter: 'blur', params: { sigma: 5000 } }],
      share: ['gallery'],
    }),
    expect: { failsWith: /blur: expected sigma to be a number between 0.3 and 1000/ },
  },
  {
    name: 'filter-fails',
    about: 'a crop rectangle outside the uploaded image: the crop service fails on its first attempt, non-retryably',
    input: (photo) => ({
      source: { path: photo },
      filters: [{ filter: 'grayscale' }, { filter: 'crop', params: { left: 0, top: 0, width: 4000, height: 4000 } }],
      share: ['gallery'],
    }),
    expect: { failsWith: /crop: expected the rectangle .* to lie within the 96x64 image/ },
  },
  {
    name: 'bluesky',
    about: 'shared to a local Bluesky PDS: fitImage on the filter queue, then the post (the output is fitted as it is)',
    input: (photo) => ({ source: { path: photo }, filters: [{ filter: 'sepia' }], share: ['bluesky'] }),
    expect: { completes: true },
  },
  {
    name: 'bluesky-retracted',
    about: 'the webhook answers 410 Gone: sharing fails for good and the Bluesky post is deleted (compensation)',
    input: (photo) => ({ source: { path: photo }, filters: [{ filter: 'flip' }], share: ['bluesky', 'webhook'] }),
    setup: (receiver) => receiver.setMode('gone'),
    expect: { failsWith: /sharing failed \(webhook: .*410.*\); the Bluesky post was removed/ },
  },
  {
    name: 'share-fails',
    about: 'the webhook answers 410 Gone: sharing fails for good and the gallery entry is removed (compensation)',
    input: (photo) => ({ source: { path: photo }, filters: [{ filter: 'flop' }], share: ['gallery', 'webhook'] }),
    setup: (receiver) => receiver.setMode('gone'),
    expect: { failsWith: /sharing failed \(webhook: .*410.*\); the gallery entry was removed/ },
  },
  {
    name: 'cancelled',
    about: 'cancelled while the webhook retries, after the gallery share: the gallery entry is removed all the same',
    input: (photo) => ({ source: { path: photo }, filters: [{ filter: 'flip' }], share: ['gallery', 'webhook'] }),
    setup: (receiver) => receiver.setMode('unavailable'),
    during: async (handle) => {
      for (;;) {
        const progress = await handle.query(progressQuery).catch(() => undefined);
        if (progress?.shares.some((s) => s.target === 'gallery')) return void (await handle.cancel());
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
    expect: { failsWith: /cancel/i },
  },
  ...(['approve', 'reject'] as const).map((decision): Scenario => ({
    name: `review-${decision}`,
    about: `review before publishing: waits after the filters until the review Update says ${decision}`,
    input: (photo) => ({ source: { path: photo }, filters: [{ filter: 'sepia' }], share: ['gallery'], review: {} }),
    during: async (handle) => {
      while ((await handle.query(progressQuery).catch(() => undefined))?.stage !== 'review') {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await handle.executeUpdate(reviewUpdate, { args: [{ decision, by: 'record-histories' }] });
    },
    expect: { completes: true },
  })),
];

/** The largest payload in a history, in bytes: image bytes must never travel through Temporal. */
function largestPayload(node: unknown): number {
  if (!node || typeof node !== 'object') return 0;
  const data = (node as { data?: unknown }).data;
  let largest = data instanceof Uint8Array ? data.length : 0;
  for (const value of Object.values(node)) largest = Math.max(largest, largestPayload(value));
  return largest;
}

/**
 * Runs `scenario` as `workflowId` and returns how it ended and its history as JSON. Throws if it does not end as the
 * scenario expects within 60 s, or if its history carries a payload larger than a claim-checked key.
 */
export async function recordScenario(
  client: Client,
  scenario: Scenario,
  workflowId: string,
  photo: string,
  receiver: Receiver,
): Promise<{ outcome: string; text: string }> {
  receiver.setMode('ok');
  scenario.setup?.(receiver);
  const input = scenario.input(photo);
  const handle = scenario.byHand
    ? await client.workflow.start(processPhoto, { taskQueue: TASK_QUEUES.workflow, workflowId, args: [input] })
    : await startPhotoRun(client, input, workflowId);
  // Every scenario ends in seconds; one that does not is retrying something it should not (e.g. a share).
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`scenario ${scenario.name} did not finish within 60 s`)), 60_000);
  });
  const ended = (async () => {
    await scenario.during?.(handle);
    return handle.result();
  })();
  const outcome = await Promise.race([deadline, ended])
    .then(
      () => 'completed',
      (err: unknown) => {
        if (!(err instanceof WorkflowFailedError)) throw err;
        const messages: string[] = [];
        for (let e: Error | undefined = err; e; e = e.cause as Error | undefined) messages.push(e.message);
        return `failed: ${messages.join(' <- ')}`;
      },
    )
    .finally(() => clearTimeout(timer));
  const ok = 'completes' in scenario.expect ? outcome === 'completed' : scenario.expect.failsWith.test(outcome);
  if (!ok)
    throw new Error(
      `scenario ${scenario.name} did not end as expected (${JSON.stringify(scenario.expect)}): ${outcome}`,
    );

  const history = await handle.fetchHistory();
  const largest = largestPayload(history);
  if (largest > 4096)
    throw new Error(
      `scenario ${scenario.name}: a ${largest}-byte payload in history; expected claim-checked keys only`,
    );
  // The recording machine's host name and process ids are of no use to a replay: keep them out of the repository.
  const text = historyToJson(history).replace(/"identity":"[^"]*"/g, '"identity":"record-histories"');
  return { outcome, text };
}
