import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { Cluster } from '../../src/cluster/cluster';
import { startPhotoRun } from '../../src/lib/photo-runs';
import { assertEachRunCompletedOnce, startTestCluster } from '../support/cluster';
import { jpeg } from '../support/images';
import { Processes, waitForRunning, type WorkerProcess } from '../support/processes';
import { SERVICE_NAMES } from '../../src/common/task-queues';

const RUNS = 6;
const FILTER_DELAY_MS = 2_000;
// The run's intermediates are deleted when it ends: deleteScratch is its last activity.
const STEPS = ['upload', 'resize', 'grayscale', 'output', 'shareGallery', 'deleteScratch'];

/**
 * Faults on the real engine: the server process, then PostgreSQL's postmaster, killed with SIGKILL while runs are
 * mid-flight (a filter running on the worker), and started again on the same data. Every run must complete, with
 * every step once in its history and one gallery entry.
 */
describe('SIGKILL of the Temporal server or of PostgreSQL mid-run', { timeout: 10 * 60_000 }, () => {
  const world = new Processes();
  let cluster: Cluster;
  let client: Client;
  let stopCluster: () => Promise<void>;
  let worker: WorkerProcess;
  const handles: WorkflowHandle[] = [];

  before(async () => {
    ({ cluster, client, stop: stopCluster } = await startTestCluster(world));
    worker = await world.startWorker({
      services: SERVICE_NAMES,
      address: cluster.address,
      dataDir: world.dataDir,
      filterDelayMs: FILTER_DELAY_MS,
    });
  });
  after(async () => {
    // The cluster first, while its folder still exists; then the workers and the folder.
    try {
      await stopCluster?.();
    } finally {
      await world.cleanup();
    }
  });

  async function startRuns(tag: string): Promise<WorkflowHandle[]> {
    const started = await Promise.all(
      Array.from({ length: RUNS }, async (_, i) => {
        const photo = path.join(world.dir, `${tag}-${i}.jpg`);
        writeFileSync(photo, await jpeg({ width: 320 + i * 16, height: 240 }));
        return startPhotoRun(client, {
          source: { path: photo },
          filters: [
            { filter: 'resize', params: { width: 160 } },
            { filter: 'grayscale' },
            { filter: 'output', params: { format: 'png' } },
          ],
          share: ['gallery'],
        });
      }),
    );
    handles.push(...started);
    // Mid-run: a filter is under way on the worker for the first run (others are queued or running too).
    await waitForRunning(started[0], 'resize');
    return started;
  }

  it('server: killed, restarted on the same database, every run completes once', async () => {
    const runs = await startRuns('server');
    const killed = cluster.server!;
    await killed.kill('SIGKILL');
    assert.ok(!killed.running());
    await new Promise((r) => setTimeout(r, 3_000)); // down for a while: the worker's calls fail meanwhile
    await cluster.startServer();
    await Promise.all(runs.map((h) => h.result()));
    await assertEachRunCompletedOnce(handles, world.config().galleryDir, STEPS);
    assert.ok(worker.running(), `the worker rode out the outage:\n${worker.output()}`);
  });

  it('PostgreSQL: postmaster killed, restarted (crash recovery), every run completes once', async () => {
    const runs = await startRuns('postgres');
    const postmaster = cluster.postgres!.process;
    await postmaster.kill('SIGKILL');
    assert.ok(!postmaster.running());
    await new Promise((r) => setTimeout(r, 3_000)); // the server's persistence calls fail meanwhile
    assert.ok(cluster.server!.running(), 'the Temporal server survives losing its database');
    await cluster.startPostgres();
    await Promise.all(runs.map((h) => h.result()));
    await assertEachRunCompletedOnce(handles, world.config().galleryDir, STEPS);
    assert.ok(worker.running(), `the worker rode out the outage:\n${worker.output()}`);
  });
});
