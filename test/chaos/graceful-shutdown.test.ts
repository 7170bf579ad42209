import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@temporalio/client';
import { msToNumber } from '@temporalio/common/lib/time';
import { startPhotoRun } from '../../src/lib/photo-runs';
import { SHUTDOWN_GRACE_TIME } from '../../src/lib/workers';
import { jpeg } from '../support/images';
import { activityRecords, Processes, waitForRunning } from '../support/processes';

/** Long enough that SIGTERM surely lands mid-filter, well inside the worker's 30 s grace time. */
const FILTER_DELAY_MS = 3_000;
const GRACE_MS = msToNumber(SHUTDOWN_GRACE_TIME);

describe('SIGTERM to a worker process mid-filter', { timeout: 5 * 60_000 }, () => {
  const world = new Processes();
  let address: string;
  let client: Client;

  before(async () => {
    ({ address, client } = await world.start());
  });
  after(async () => {
    await world.cleanup();
  });

  it('lets the running filter finish, exits 0, and the filter is not retried', async () => {
    const photo = path.join(world.dir, 'photo.jpg');
    writeFileSync(photo, await jpeg({ width: 400, height: 300 }));
    await world.startWorker({ services: ['workflow', 'upload', 'share'], address, dataDir: world.dataDir });
    const filter = await world.startWorker({
      services: ['filter'],
      address,
      dataDir: world.dataDir,
      filterDelayMs: FILTER_DELAY_MS,
    });

    const handle = await startPhotoRun(client, {
      source: { path: photo },
      filters: [
        { filter: 'resize', params: { width: 100 } },
        { filter: 'flip' },
        { filter: 'output', params: { format: 'webp' } },
      ],
      share: ['gallery'],
    });
    const running = await waitForRunning(handle, 'resize');
    assert.equal(running.lastWorkerIdentity, filter.identity);

    const signalledAt = Date.now();
    const exit = await filter.kill('SIGTERM');
    const exitedAt = Date.now();
    assert.deepEqual(exit, { code: 0, signal: null }, `the worker's output:\n${filter.output()}`);
    assert.match(filter.output(), new RegExp(`worker ${filter.pid}: stopped`));

    // By the time the process is gone, the filter it was running has completed, on its first and only attempt.
    const resize = (await activityRecords(handle)).find((a) => a.type === 'resize')!;
    assert.equal(resize.outcome, 'completed');
    assert.equal(resize.attempt, 1);
    assert.equal(resize.startedBy, filter.identity);
    assert.equal(resize.completedBy, filter.identity);
    assert.equal(resize.lastFailure ?? null, null);
    // ...and it was still running when the signal came: the worker waited for it, within its grace time.
    assert.ok(
      resize.completedAt! > signalledAt,
      `resize completed ${resize.completedAt! - signalledAt} ms after SIGTERM`,
    );
    assert.ok(
      exitedAt - signalledAt < GRACE_MS,
      `exited ${exitedAt - signalledAt} ms after SIGTERM; the grace time is ${GRACE_MS} ms`,
    );
    console.log(
      `SIGTERM: resize completed after ${resize.completedAt! - signalledAt} ms, the process exited 0 after ${exitedAt - signalledAt} ms`,
    );

    // It took no new work after the signal: the next filter waits for another filter worker.
    const next = await world.startWorker({ services: ['filter'], address, dataDir: world.dataDir });
    const result = await handle.result();
    assert.deepEqual([result.output.format, result.output.width, result.output.height], ['webp', 100, 75]);
    const records = await activityRecords(handle);
    for (const step of ['flip', 'output']) {
      const record = records.find((a) => a.type === step)!;
      assert.equal(record.startedBy, next.identity, `${step} ran on the new filter worker`);
      assert.equal(record.attempt, 1);
    }
  });
});
