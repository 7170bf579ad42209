import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@temporalio/client';
import sharp from 'sharp';
import type { DevServer } from '../../src/lib/dev-server';
import { FileBlobStore } from '../../src/lib/blob-store';
import { startPhotoRun } from '../../src/lib/photo-runs';
import { jpeg } from '../support/images';
import { activityRecords, Processes, waitFor, waitForRunning } from '../support/processes';
import { SERVICE_NAMES } from '../../src/common/task-queues';

const FILTER_DELAY_MS = 3_000;

describe('the Temporal server killed mid-run', { timeout: 5 * 60_000 }, () => {
  const world = new Processes();
  let server: DevServer;
  let client: Client;

  before(async () => {
    ({ server, client } = await world.start());
  });
  after(async () => {
    await world.cleanup();
  });

  it('restarts on the same database and the run completes, with the same worker process reconnecting', async () => {
    const photo = path.join(world.dir, 'photo.jpg');
    writeFileSync(photo, await jpeg({ width: 640, height: 480 }));
    const worker = await world.startWorker({
      services: SERVICE_NAMES,
      address: server.address,
      dataDir: world.dataDir,
      filterDelayMs: FILTER_DELAY_MS,
    });

    const handle = await startPhotoRun(client, {
      source: { path: photo },
      filters: [
        { filter: 'resize', params: { width: 200 } },
        { filter: 'grayscale' },
        { filter: 'output', params: { format: 'png' } },
      ],
      share: ['gallery'],
    });
    await waitForRunning(handle, 'resize');

    // SIGKILL: no shutdown, whatever the server had not written to its database is gone.
    await server.child.kill('SIGKILL');
    assert.equal(server.child.process.signalCode, 'SIGKILL');
    // Stay down until the worker has finished the filter it was running (its output is in the blob store): it has
    // to report the result, and heartbeat meanwhile, to a server that is not there.
    const blobs = world.config().blobDir;
    await waitFor('resize to write its output while the server is down', () =>
      readdirSync(blobs, { recursive: true }).some((f) => String(f).endsWith('.raw')),
    );
    assert.ok(worker.running(), `the worker process died with the server:\n${worker.output()}`);
    server = await world.startServer();

    const result = await handle.result();
    assert.deepEqual([result.output.format, result.output.width, result.output.height], ['png', 200, 150]);
    const store = new FileBlobStore(world.config().blobDir);
    const meta = await sharp(await store.get(result.output.key)).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['png', 200, 150]);
    assert.equal(result.shares.length, 1);

    // The run is the same execution on the restarted server, and every step is in its history once.
    const description = await handle.describe();
    assert.equal(description.status.name, 'COMPLETED');
    const steps = (await activityRecords(handle)).map((a) => `${a.type}:${a.outcome}`);
    assert.deepEqual(steps, [
      'upload:completed',
      'resize:completed',
      'grayscale:completed',
      'output:completed',
      'shareGallery:completed',
      'deleteScratch:completed',
    ]);

    // The worker process rode out the outage: the same process served the rest of the run.
    assert.ok(worker.running(), `the worker process died with the server:\n${worker.output()}`);
    const records = await activityRecords(handle);
    assert.equal(records.at(-1)!.completedBy, worker.identity);
    console.log(records.map((a) => `${a.type} attempt ${a.attempt} by ${a.startedBy}`).join('; '));
  });
});
