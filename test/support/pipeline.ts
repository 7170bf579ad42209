import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { ActivityInterceptorsFactory, Worker } from '@temporalio/worker';
import { loadConfig, type PhotoConfig } from '../../src/lib/config';
import { createWorkers } from '../../src/lib/workers';
import { SERVICE_NAMES } from '../../src/common/task-queues';
import { workflowBundle } from './temporal';

/** A throwaway data folder (blob store, gallery, input photos) with worker settings pointing into it. */
export function tempWorld(webhook?: PhotoConfig['webhook']): { dir: string; config: PhotoConfig; cleanup(): void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nano-photos-test-'));
  const config = { ...loadConfig({ NANO_PHOTOS_DATA_DIR: dir }), webhook };
  return { dir, config, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Real workers for every nano-service on the environment's server, as `npm run worker` would run them (plus any
 * activity interceptors a test observes the runs with).
 */
export async function photoWorkers(
  env: TestWorkflowEnvironment,
  config: PhotoConfig,
  activityInterceptors?: ActivityInterceptorsFactory[],
): Promise<Worker[]> {
  return createWorkers({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    services: SERVICE_NAMES,
    config,
    workflowBundle: await workflowBundle(),
    activityInterceptors,
  });
}

/** Runs fresh workers (a worker runs only once) until `work` settles, then shuts them down. */
export async function withWorkers<T>(
  env: TestWorkflowEnvironment,
  config: PhotoConfig,
  work: () => Promise<T>,
  activityInterceptors?: ActivityInterceptorsFactory[],
): Promise<T> {
  const [first, ...rest] = await photoWorkers(env, config, activityInterceptors);
  const others = rest.map((w) => w.run());
  try {
    return await first.runUntil(work);
  } finally {
    for (const w of rest) w.shutdown();
    await Promise.all(others);
  }
}
