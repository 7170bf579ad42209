import assert from 'node:assert/strict';
import { chmodSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { GalleryEntry } from '../../activities/share/gallery-page';
import { Cluster } from '../../src/cluster/cluster';
import { provisionTemporalCli } from '../../src/provision/temporal-cli';
import { provisionCluster } from '../../src/provision/temporal-server';
import { activityRecords, connectTestClient, type Processes } from './processes';

/**
 * A real cluster (PostgreSQL, the multi-shard server, optionally the Web UI) in the test's temp folder, on free
 * loopback ports. `world.cleanup()` does not know about it: stop it in the same `after`.
 */
export async function startTestCluster(
  world: Processes,
  { ui = false }: { ui?: boolean } = {},
): Promise<{ cluster: Cluster; client: Client; stop(): Promise<void> }> {
  // PostgreSQL runs as an unprivileged user, which must reach its folder inside the (root-only) temp folder.
  chmodSync(world.dir, 0o755);
  const cluster = await Cluster.start({
    binaries: await provisionCluster(provisionTemporalCli),
    dir: path.join(world.dir, 'cluster'),
    ui,
  });
  try {
    const { client, close } = await connectTestClient(cluster.address);
    return {
      cluster,
      client,
      async stop() {
        await close();
        await cluster.stop();
      },
    };
  } catch (err) {
    await cluster.stop();
    throw err;
  }
}

/** Sums every sample of a metric family (all label sets) in Prometheus text; 0 when absent. */
export function metricSum(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (match && match[1] === name) sum += Number(match[3]);
  }
  return sum;
}

export async function scrape(url: string): Promise<string> {
  const response = await fetch(url);
  assert.equal(response.status, 200, `GET ${url}`);
  return response.text();
}

/**
 * Every run completed with each step completed exactly once in its history (the expected steps, in order), and
 * the gallery holds exactly one entry per run.
 */
export async function assertEachRunCompletedOnce(
  handles: WorkflowHandle[],
  galleryDir: string,
  steps: string[],
): Promise<void> {
  const entries = readdirSync(galleryDir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => JSON.parse(readFileSync(path.join(galleryDir, f), 'utf8')) as GalleryEntry);
  assert.equal(entries.length, handles.length, 'one gallery entry per run, no more');
  for (const handle of handles) {
    assert.equal((await handle.describe()).status.name, 'COMPLETED', handle.workflowId);
    const records = await activityRecords(handle);
    assert.deepEqual(
      records.map((a) => `${a.type}:${a.outcome}`),
      steps.map((s) => `${s}:completed`),
      handle.workflowId,
    );
    const mine = entries.filter((e) => e.idempotencyKey === `${handle.workflowId}:gallery`);
    assert.equal(mine.length, 1, `${handle.workflowId}: shared to the gallery once`);
  }
}
