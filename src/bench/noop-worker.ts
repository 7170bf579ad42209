import { NativeConnection, Worker } from '@temporalio/worker';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ChainInput } from '../../activities/filters/fused-chain';
import { filterNames } from '../common/filter-catalog';
import type { Tally } from '../common/retention';
import type { FilterInput, ImageRef, ShareInput, ShareReceipt } from '../common/types';
import { TASK_QUEUES } from '../common/task-queues';
import { envInteger } from '../lib/env-integer';
import { installQuietRuntime } from '../lib/logging';
import { DEFAULT_CONCURRENCY, workflowWorkerOptions } from '../lib/workers';
import { PLAIN_TASK_QUEUE } from './plain-workflow';

/**
 * The orchestration ceiling's services, doing nothing. `activities` (default): every upload, filter and share
 * activity of the real task queues, for the real processPhoto workflow and for the plain pipeline. `plain-workflows`:
 * the plain pipeline's workflow worker (plain-workflow.ts), with the real workflow worker's options. What is left is
 * the cost of Temporal: the dev server, the workflow worker and the round trips between them. NOOP_DELAY_MS makes
 * every activity wait that long before it answers: the pace of real services without their work (BENCHMARKS.md,
 * fourteenth pass: what a hand-off costs when the work arrives spread out).
 */

const HASH = '0'.repeat(64);
const PHOTO: ImageRef = {
  key: `${HASH}.jpg`,
  format: 'jpeg',
  width: 4000,
  height: 3000,
  channels: 3,
  bytes: 1,
  sha256: HASH,
};

const noop = {
  async upload(): Promise<ImageRef> {
    return PHOTO;
  },
  ...Object.fromEntries(
    filterNames.map((name) => [name, async (input: FilterInput): Promise<ImageRef> => input.image]),
  ),
  async applyChain(input: ChainInput): Promise<ImageRef> {
    return input.image;
  },
  async deleteScratch(): Promise<Tally> {
    return { objects: 0, bytes: 0 };
  },
  async shareGallery(input: ShareInput): Promise<ShareReceipt> {
    return { target: 'gallery', location: '/dev/null', idempotencyKey: input.idempotencyKey, duplicate: false };
  },
};

type Activities = Record<string, (input: never) => Promise<unknown>>;

/** `activities`, each answering `delayMs` later. */
function paced(activities: Activities, delayMs: number): Activities {
  if (delayMs === 0) return activities;
  const wait = (fn: Activities[string]) => async (input: never) => {
    await sleep(delayMs);
    return fn(input);
  };
  return Object.fromEntries(Object.entries(activities).map(([name, fn]) => [name, wait(fn)]));
}

async function main(): Promise<void> {
  installQuietRuntime();
  const role = process.argv[2] ?? 'activities';
  const concurrency = envInteger(process.env, 'NOOP_CONCURRENCY', 200);
  const delayMs = envInteger(process.env, 'NOOP_DELAY_MS', 0, 0);
  const activities = paced(noop, delayMs);
  const connection = await NativeConnection.connect({ address: process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233' });
  const common = { connection, namespace: 'default' };
  const workers =
    role === 'plain-workflows'
      ? [
          await Worker.create({
            ...common,
            ...workflowWorkerOptions(DEFAULT_CONCURRENCY.workflow),
            taskQueue: PLAIN_TASK_QUEUE,
            workflowsPath: require.resolve('./plain-workflow'),
          }),
        ]
      : await Promise.all(
          [TASK_QUEUES.upload, TASK_QUEUES.filter, TASK_QUEUES.share].map((taskQueue) =>
            Worker.create({ ...common, taskQueue, activities, maxConcurrentActivityTaskExecutions: concurrency }),
          ),
        );
  // SIGINT/SIGTERM: the SDK's runtime shuts the workers down, as in src/bin/worker.ts.
  console.log(`noop worker ${process.pid}: serving ${role}`);
  await Promise.all(workers.map((w) => w.run()));
  await connection.close();
}

main().catch((err) => {
  console.error(`noop worker: ${(err as Error).stack}`);
  process.exit(1);
});
