import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SERVICE_NAMES } from '../src/common/task-queues';
import { loadConfig } from '../src/lib/config';
import { placeServices } from '../src/lib/image-thread';
import { startPhotoRun } from '../src/lib/photo-runs';
import { crashTestWorld, stopMidActivity } from './support/processes';

const NODE_MAJOR = Number(process.versions.node.split('.')[0]);

describe('placeServices: which services a worker runs in an image thread', () => {
  const compiled = '/app/dist/src/bin/worker.js';
  const none = { metricsAddress: undefined, imageThread: true };

  it('gives upload and filter a thread of their own when the process also runs workflows', () => {
    assert.deepEqual(placeServices(SERVICE_NAMES, none, compiled), {
      here: ['workflow', 'share'],
      thread: ['upload', 'filter'],
    });
    assert.deepEqual(placeServices(['workflow', 'filter'], none, compiled), { here: ['workflow'], thread: ['filter'] });
  });

  it('keeps everything on the main thread without workflows, without image services, or with a metrics endpoint', () => {
    for (const services of [['upload', 'filter'], ['filter'], ['workflow', 'share']] as const) {
      assert.deepEqual(placeServices(services, none, compiled), { here: services, thread: [] });
    }
    const metrics = { metricsAddress: '127.0.0.1:9464', imageThread: true };
    assert.deepEqual(placeServices(SERVICE_NAMES, metrics, compiled).thread, []);
  });

  it('not when NANO_PHOTOS_IMAGE_THREAD=false', () => {
    const config = loadConfig({ NANO_PHOTOS_IMAGE_THREAD: 'false' });
    assert.deepEqual(placeServices(SERVICE_NAMES, config, compiled).thread, []);
    assert.equal(loadConfig({}).imageThread, true);
    assert.throws(
      () => loadConfig({ NANO_PHOTOS_IMAGE_THREAD: 'no' }),
      /NANO_PHOTOS_IMAGE_THREAD: expected true or false, received "no"/,
    );
  });

  it('under tsx only from Node 22 on, whose loader hooks reach worker threads', () => {
    const { thread } = placeServices(SERVICE_NAMES, none, '/app/src/bin/worker.ts');
    assert.deepEqual(thread, NODE_MAJOR >= 22 ? ['upload', 'filter'] : []);
  });
});

// The tests start workers through tsx, which Node 20 cannot run in a thread; CI's Node 24 run and its demo on
// compiled code (`npm run build`) cover this path there.
const describeThreaded = NODE_MAJOR >= 22 ? describe : describe.skip;

describeThreaded('one worker process for everything, image services in a thread', { timeout: 5 * 60_000 }, () => {
  const context = crashTestWorld();

  it('runs the filters in its thread, and on SIGTERM lets the running one finish and exits 0', async () => {
    const { world, address, client, photo } = context;
    const worker = await world.startWorker({
      services: SERVICE_NAMES,
      address,
      dataDir: world.dataDir,
      filterDelayMs: 3_000,
    });
    assert.match(
      worker.output(),
      /serving workflow, upload, filter, share \(upload, filter in a thread of their own\)/,
    );
    const handle = await startPhotoRun(client, {
      source: { path: photo },
      filters: [
        { filter: 'resize', params: { width: 320 } },
        { filter: 'flip' },
        { filter: 'output', params: { format: 'png' } },
      ],
      share: ['gallery'],
    });
    await stopMidActivity(handle, worker, 'resize');

    // The next worker finishes the run.
    await world.startWorker({ services: SERVICE_NAMES, address, dataDir: world.dataDir });
    const result = await handle.result();
    assert.deepEqual([result.output.format, result.output.width, result.output.height], ['png', 320, 240]);
  });
});
