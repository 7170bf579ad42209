import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment, type TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Worker } from '@temporalio/worker';
import { temporal } from '@temporalio/proto';
import { createFilterActivities } from '../activities/filters/activities';
import { HeldImages } from '../activities/filters/held-images';
import { TASK_QUEUES } from '../src/common/task-queues';
import type { FilterInput, FilterStep, ImageRef } from '../src/common/types';
import type { ProcessPhotoInput } from '../src/common/workflow-io';
import { FileBlobStore } from '../src/lib/blob-store';
import { startPhotoRun } from '../src/lib/photo-runs';
import { createWorkers } from '../src/lib/workers';
import { artifactView } from '../src/web/run-view';
import { HELD_START_TIMEOUT } from '../workflows/activity-options';
import { jpeg } from './support/images';
import { photoWorkers, tempWorld } from './support/pipeline';
import { devServerEnv, workflowBundle } from './support/temporal';

/**
 * Runs with `intermediates: 'memory'`: each filter step's result stays in the worker that made it, the next step is
 * sent to that worker's own queue, and a step whose input is gone makes it again from the original.
 */
const logger = new DefaultLogger('ERROR');
/** One filter activity, as a worker would run it. */
const run = (fn: (input: FilterInput) => Promise<ImageRef>, input: FilterInput): Promise<ImageRef> =>
  new MockActivityEnvironment(undefined, { logger }).run(fn, input) as Promise<ImageRef>;

describe('HeldImages', () => {
  it('gives an image once, lets go of expired ones, and of the oldest beyond its byte limit', () => {
    let now = 0;
    const held = new HeldImages(30, 1_000, () => now);
    const a = held.hold(Buffer.alloc(10, 1));
    assert.match(a.key, /^memory\/[0-9a-f]{64}\.raw$/);
    assert.equal(held.take(a.key)?.length, 10);
    assert.equal(held.take(a.key), undefined, 'taken: no longer held');

    const b = held.hold(Buffer.alloc(10));
    now = 600;
    const c = held.hold(Buffer.alloc(10));
    now = 1_100; // b is older than a second now, c is not
    const d = held.hold(Buffer.alloc(10));
    assert.equal(held.take(b.key), undefined, 'expired');
    assert.equal(held.bytes, 20);
    held.hold(Buffer.alloc(15)); // 35 bytes held: over the limit, so c (the oldest) goes
    assert.equal(held.take(c.key), undefined, 'pushed out');
    assert.equal(held.take(d.key)?.length, 10);
  });
});

describe('filter activities with held intermediates', () => {
  let root: string;
  let store: FileBlobStore;
  let original: ImageRef;
  const steps: FilterStep[] = [{ filter: 'resize', params: { width: 300 } }, { filter: 'sepia' }];
  const output: FilterStep = { filter: 'output', params: { format: 'png' } };

  before(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'nano-photos-held-'));
    store = new FileBlobStore(path.join(root, 'blobs'));
    const data = await jpeg({ width: 900, height: 600 });
    original = { ...(await store.put(data, 'jpg')), format: 'jpeg', width: 900, height: 600, channels: 3 };
  });
  after(() => rm(root, { recursive: true, force: true }));

  /** The chain resize → sepia → output on `filters`, holding what comes before the output; returns the output. */
  async function chain(filters: ReturnType<typeof createFilterActivities>): Promise<ImageRef[]> {
    const made: ImageRef[] = [];
    let image = original;
    for (const [index, step] of [...steps, output].entries()) {
      const recipe = index > 0 ? { original, steps: steps.slice(0, index) } : undefined;
      image = await run(filters[step.filter as 'resize'], {
        image,
        params: step.params,
        ...(step.filter === 'output' ? {} : { hold: true }),
        ...(recipe ? { recipe } : {}),
      });
      made.push(image);
    }
    return made;
  }

  it('holds every step before the output in memory, on this worker, and stores only the output', async () => {
    const held = new HeldImages();
    const made = await chain(createFilterActivities({ store, held, heldQueue: 'photos-filter-held-test' }));
    for (const image of made.slice(0, -1)) {
      assert.match(image.key, /^memory\/[0-9a-f]{64}\.raw$/);
      assert.equal(image.heldBy, 'photos-filter-held-test');
    }
    assert.equal(held.bytes, 0, 'each held image was taken by the next step');
    const stored = (await readdir(path.join(root, 'blobs'), { recursive: true })).filter((n) => n.includes('.'));
    assert.deepEqual(stored.sort(), [original.key, made.at(-1)!.key].map((k) => `${k.slice(0, 2)}/${k}`).sort());
  });

  it('has no preview on the run page: it was never stored', async () => {
    const held = await run(createFilterActivities({ store }).resize, {
      image: original,
      params: steps[0].params,
      hold: true,
    });
    assert.equal(artifactView(held).preview, undefined);
    assert.match(artifactView(original).preview!, /^\/api\/previews\/[0-9a-f]{64}\.jpg$/);
  });

  it('makes a held input that is gone again from the recipe: the same output, byte for byte', async () => {
    const holder = createFilterActivities({ store, held: new HeldImages(), heldQueue: 'holder' });
    const resized = await run(holder.resize, { image: original, params: steps[0].params, hold: true });
    // Another worker: nothing held there.
    const other = createFilterActivities({ store, held: new HeldImages() });
    const sepia = await run(other.sepia, { image: resized, hold: true, recipe: { original, steps: [steps[0]] } });
    const remade = await run(other.output, { image: sepia, params: output.params, recipe: { original, steps } });
    const reference = await chain(createFilterActivities({ store }));
    assert.equal(remade.key, reference.at(-1)!.key);
    assert.ok((await store.get(remade.key)).equals(await store.get(reference.at(-1)!.key)));
  });

  it('refuses, non-retryably and naming the parameter, a held input without a recipe, a wrong recipe, or hold on the output', async () => {
    const filters = createFilterActivities({ store });
    const resized = await run(filters.resize, { image: original, params: steps[0].params, hold: true });
    const refused = async (work: Promise<unknown>, pattern: RegExp) =>
      assert.rejects(work, (err: unknown) => {
        assert.ok(err instanceof ApplicationFailure && err.nonRetryable, String(err));
        assert.match(err.message, pattern);
        return true;
      });
    await refused(run(filters.sepia, { image: resized }), /sepia: expected recipe to be \{original, steps\}/);
    // On a worker that does not hold it, the recipe is followed, and must make the image it stands for.
    await refused(
      run(createFilterActivities({ store }).sepia, {
        image: resized,
        recipe: { original, steps: [{ filter: 'resize', params: { width: 200 } }] },
      }),
      /recipe makes a 200 x 133 raw image; expected the 300 x 200 raw image memory\//,
    );
    await refused(
      run(filters.output, { image: original, params: { format: 'png' }, hold: true }),
      /output: expected hold to be true or false \(true only before the output step, and not with scratch\), received true/,
    );
  });
});

describe('processPhoto with intermediates in memory, on a real dev server', () => {
  let env: TestWorkflowEnvironment;
  let world: ReturnType<typeof tempWorld>;
  let input: ProcessPhotoInput;

  before(async () => {
    env = await devServerEnv();
    world = tempWorld();
    const photo = path.join(world.dir, 'held.jpg');
    await writeFile(photo, await jpeg({ width: 1000, height: 700 }));
    input = {
      source: { path: photo },
      filters: [{ filter: 'resize', params: { width: 400 } }, { filter: 'sepia' }, { filter: 'sharpen' }],
    };
  });
  after(async () => {
    await env?.teardown();
    world?.cleanup();
  });

  /** Each activity of the run: its type and the task queue it was scheduled on, in order. */
  async function scheduled(workflowId: string) {
    const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
    return history.events!.flatMap((e) => {
      const a = e.activityTaskScheduledEventAttributes;
      return a ? [{ type: a.activityType!.name!, queue: a.taskQueue!.name! }] : [];
    });
  }

  async function runWith(workers: Worker[], photoInput: ProcessPhotoInput) {
    const [first, ...rest] = workers;
    const others = rest.map((w) => w.run());
    try {
      return await first.runUntil(async () => {
        const handle = await startPhotoRun(env.client, photoInput);
        return { handle, result: await handle.result() };
      });
    } finally {
      for (const w of rest) w.shutdown();
      await Promise.all(others);
    }
  }

  /** Every file in the blob store, by path. */
  const files = async () =>
    (await readdir(world.config.blobDir, { recursive: true })).filter((n) => n.includes('.')).sort();

  it("sends each next step to the worker that holds its input, stores no intermediate, and ends with the stored run's bytes", async () => {
    const stored = await runWith(await photoWorkers(env, world.config), input);
    const before = await files();
    const held = await runWith(await photoWorkers(env, world.config), { ...input, intermediates: 'memory' });
    // Content-addressed: the same output key is the very same bytes.
    assert.equal(held.result.output.key, stored.result.output.key, 'the same output blob');
    assert.deepEqual(await files(), before, 'the held run stored nothing the stored run had not (no intermediates)');

    const activities = await scheduled(held.handle.workflowId);
    assert.deepEqual(
      activities.map((a) => a.type),
      ['upload', 'resize', 'sepia', 'sharpen', 'output'],
      'no deleteScratch: nothing to delete',
    );
    const [resize, ...next] = activities.slice(1, 5);
    assert.equal(resize.queue, TASK_QUEUES.filter);
    assert.equal(new Set(next.map((a) => a.queue)).size, 1, 'every later step on the one worker holding its input');
    assert.match(next[0].queue, /^photos-filter-held-/);
  });

  it(`runs a step on any worker, which makes its input again, when the holder does not take it within ${HELD_START_TIMEOUT}`, async () => {
    const twoSteps = {
      ...input,
      filters: [{ filter: 'resize', params: { width: 400 } }],
      intermediates: 'memory' as const,
    };
    const reference = await runWith(await photoWorkers(env, world.config), { ...twoSteps, intermediates: 'store' });
    // A filter worker that names a queue nobody polls as its own: as if it were gone once its step ended.
    const others = await createWorkers({
      connection: env.nativeConnection,
      namespace: env.namespace ?? 'default',
      services: ['workflow', 'upload', 'share'],
      config: world.config,
      workflowBundle: await workflowBundle(),
    });
    const gone = await Worker.create({
      connection: env.nativeConnection,
      namespace: env.namespace ?? 'default',
      taskQueue: TASK_QUEUES.filter,
      activities: createFilterActivities({
        store: new FileBlobStore(world.config.blobDir),
        heldQueue: 'photos-filter-held-gone',
      }),
    });
    const { handle, result } = await runWith([gone, ...others], twoSteps);
    assert.equal(result.output.key, reference.result.output.key, 'the same output blob');

    const history = await handle.fetchHistory();
    const timedOut = history.events!.filter(
      (e) =>
        e.activityTaskTimedOutEventAttributes?.failure?.timeoutFailureInfo?.timeoutType ===
        temporal.api.enums.v1.TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START,
    );
    assert.equal(timedOut.length, 1, 'the output step waited for the gone worker once');
    assert.deepEqual(
      (await scheduled(handle.workflowId)).map((a) => `${a.type}@${a.queue}`),
      ['upload@photos-upload', 'resize@photos-filter', 'output@photos-filter-held-gone', 'output@photos-filter'],
    );
  });
});
