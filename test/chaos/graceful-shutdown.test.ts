import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@temporalio/client';
import { startPhotoRun } from '../../src/lib/photo-runs';
import { jpeg } from '../support/images';
import { activityRecords, Processes, stopMidActivity } from '../support/processes';

/** Long enough that SIGTERM surely lands mid-filter, well inside the worker's 30 s grace time. */
const FILTER_DELAY_MS = 3_000;

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
    const { record: resize, signalledAt, exitedAt } = await stopMidActivity(handle, filter, 'resize');
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
