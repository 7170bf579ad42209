import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Context } from '@temporalio/activity';
import { WorkflowFailedError, type Client, type WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { processPhoto, progressQuery } from '../workflows';
import { innermostMessage } from '../src/common/failures';
import { TASK_QUEUES } from '../src/common/task-queues';
import type { ProcessPhotoInput, ProcessPhotoResult } from '../src/common/workflow-io';
import { openBlobStore, openObjectStore, type StoreSettings } from '../src/lib/blob-store';
import { loadConfig, type PhotoConfig } from '../src/lib/config';
import { startS3Server, type S3Server } from '../src/lib/s3-server';
import { ensureSweepSchedule, sweepNow } from '../src/lib/store-sweep';
import { SWEEP_SCHEDULE_ID } from '../src/common/retention';
import { jpeg, png } from './support/images';
import { tempWorld, withWorkers } from './support/pipeline';
import { devServerEnv } from './support/temporal';

/**
 * Disk that stays bounded, on every blob driver: 100 runs (most complete, some fail at a later step or on an
 * unreadable photo, some are cancelled mid-chain, one is terminated), then the store's sweep. The store must hold
 * exactly the originals and outputs the runs reported, no intermediate; after a sweep past the retention, nothing.
 */

const RUNS = 100;
type Kind = 'completes' | 'bad-parameter' | 'unreadable' | 'cancelled' | 'terminated';
/** Run i's kind: the held ones (cancelled, terminated) wait at their second filter, after the first wrote scratch. */
function kindOf(i: number): Kind {
  if (i === 50) return 'terminated';
  if (i % 10 === 3) return 'bad-parameter';
  if (i % 25 === 7) return 'unreadable';
  if (i % 10 === 6) return 'cancelled';
  return 'completes';
}
const HELD: readonly Kind[] = ['cancelled', 'terminated'];

let env: TestWorkflowEnvironment;
let s3: S3Server;
const worlds: ReturnType<typeof tempWorld>[] = [];

before(async () => {
  env = await devServerEnv();
  const world = tempWorld();
  worlds.push(world);
  s3 = await startS3Server({ dir: path.join(world.dir, 's3') });
});
after(async () => {
  await s3?.stop();
  await env?.teardown();
  for (const world of worlds) world.cleanup();
});

const drivers: { name: string; stores(dir: string): Pick<PhotoConfig, 'blobStore' | 'galleryStore'> }[] = [
  {
    name: 'file',
    stores: (dir) => ({
      blobStore: { driver: 'file', dir: path.join(dir, 'blobs'), setting: 'TEST' },
      galleryStore: { driver: 'file', dir: path.join(dir, 'gallery'), setting: 'TEST' },
    }),
  },
  { name: 's3', stores: () => ({ blobStore: s3.location('blobs'), galleryStore: s3.location('gallery') }) },
];

/** Holds the second filter of the runs the test cancels or terminates, heartbeating until Temporal says stop. */
function holding(reached: Map<string, () => void>): ActivityInterceptorsFactory {
  return (ctx) => ({
    inbound: {
      async execute(input, next) {
        const workflowId = ctx.info.workflowExecution?.workflowId ?? '';
        const release = reached.get(workflowId);
        if (release && ctx.info.activityType === 'sepia') {
          release();
          for (;;) {
            Context.current().heartbeat();
            await Context.current().sleep(200);
          }
        }
        return next(input);
      },
    },
  });
}

const names = (objects: { name: string }[]) => objects.map((o) => o.name).sort();

async function visibleAsEnded(client: Client, runId: string): Promise<void> {
  for (let tries = 0; tries < 100; tries++) {
    for await (const run of client.workflow.list({ query: `RunId = '${runId}'` }))
      if (run.status.name !== 'RUNNING') return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.fail(`run ${runId} is not shown as ended`);
}

for (const driver of drivers) {
  describe(`retention on the ${driver.name} driver`, () => {
    it(`after ${RUNS} runs the store holds exactly their originals and outputs; past the retention, nothing`, async (t) => {
      const world = tempWorld();
      worlds.push(world);
      const config: PhotoConfig = { ...world.config, ...driver.stores(world.dir) };
      const blobs = openBlobStore(config.blobStore as StoreSettings);
      const gallery = openObjectStore(config.galleryStore);

      // 20 photos for 100 runs: identical runs share originals and outputs, and must not share intermediates.
      const photos = await Promise.all(
        Array.from({ length: 20 }, async (_, p) => {
          const file = path.join(world.dir, `photo-${p}.${p % 2 ? 'png' : 'jpg'}`);
          const size = { width: 48 + p * 4, height: 32 + p * 2 };
          writeFileSync(file, p % 2 ? await png(size) : await jpeg(size));
          return file;
        }),
      );
      const broken = path.join(world.dir, 'broken.jpg');
      // Bytes no decoder takes: refused by the upload every time. (A truncated JPEG is not: under load the upload's
      // full decode sometimes passes one, which then fails in the first filter; see the report of this change.)
      writeFileSync(broken, Buffer.from('these bytes are not a photo, whatever the file name says\n'.repeat(20)));
      const inputOf = (i: number): ProcessPhotoInput => {
        const kind = kindOf(i);
        const filters = [
          { filter: 'resize', params: { width: 40 } },
          { filter: 'sepia' },
          ...(kind === 'bad-parameter'
            ? [{ filter: 'crop', params: { left: 0, top: 0, width: 500, height: 500 } }]
            : []),
          { filter: 'output', params: { format: i % 3 ? 'jpeg' : 'webp' } },
        ];
        return {
          source: { path: kind === 'unreadable' ? broken : photos[i % photos.length] },
          filters,
          share: i % 10 === 0 ? ['gallery'] : [],
        };
      };

      const reached = new Map<string, () => void>();
      const heldAt = new Map<string, Promise<void>>();
      const prefix = `retention-${driver.name}`;
      for (let i = 0; i < RUNS; i++) {
        if (!HELD.includes(kindOf(i))) continue;
        heldAt.set(`${prefix}-${i}`, new Promise<void>((resolve) => reached.set(`${prefix}-${i}`, resolve)));
      }

      const started = performance.now();
      const outcomes = await withWorkers(
        env,
        config,
        async () => {
          const handles: WorkflowHandle<typeof processPhoto>[] = await Promise.all(
            Array.from({ length: RUNS }, (_, i) =>
              env.client.workflow.start(processPhoto, {
                taskQueue: TASK_QUEUES.workflow,
                workflowId: `${prefix}-${i}`,
                args: [inputOf(i)],
              }),
            ),
          );
          // The held runs, once their first filter has stored its intermediate: cancel, or terminate (no cleanup).
          await Promise.all(
            handles.map(async (handle, i) => {
              if (!HELD.includes(kindOf(i))) return;
              await heldAt.get(handle.workflowId);
              if (kindOf(i) === 'cancelled') await handle.cancel();
              else await handle.terminate('the retention test terminates one run');
            }),
          );
          return Promise.all(
            handles.map(async (handle, i) => {
              type Ended = { result?: ProcessPhotoResult; error?: string };
              const ended = await handle.result().then(
                (result): Ended => ({ result }),
                (err: unknown): Ended => {
                  assert.ok(err instanceof WorkflowFailedError, String(err));
                  return { error: innermostMessage(err) };
                },
              );
              // What the run reported: its original (from its progress, whatever the ending) and its output.
              const progress = await handle.query(progressQuery);
              const original = progress.finished?.find((s) => s.step === 'upload')?.artifact;
              const { runId } = await handle.describe();
              return { i, kind: kindOf(i), runId, original, ...ended };
            }),
          );
        },
        [holding(reached)],
      );
      t.diagnostic(`${driver.name}: ${RUNS} runs in ${((performance.now() - started) / 1000).toFixed(1)} s`);

      for (const o of outcomes) {
        const what = `run ${o.i} (${o.kind})`;
        if (o.kind === 'completes') assert.ok(o.result, `${what}: ${o.error}`);
        else assert.equal(o.result, undefined, what);
        if (o.kind === 'bad-parameter') assert.match(o.error!, /crop: expected the rectangle/, what);
        if (o.kind === 'unreadable') assert.match(o.error!, /upload: not a supported image/, what);
        if (o.kind === 'cancelled') assert.match(o.error!, /cancel/i, what);
        if (o.kind === 'terminated') assert.match(o.error!, /terminate/i, what);
        assert.equal(o.original === undefined, o.kind === 'unreadable', `${what}: uploaded unless unreadable`);
      }
      const count = (kind: Kind) => outcomes.filter((o) => o.kind === kind).length;
      t.diagnostic(
        `${count('completes')} completed, ${count('bad-parameter')} failed at a later step, ${count('unreadable')} ` +
          `failed on an unreadable photo, ${count('cancelled')} cancelled, ${count('terminated')} terminated`,
      );
      const terminated = outcomes.find((o) => o.kind === 'terminated')!;
      const expected = [
        ...new Set(
          outcomes.flatMap((o) => [o.original?.key, o.result?.output.key].filter((k): k is string => k !== undefined)),
        ),
      ]
        .map((key) => blobs.nameOf(key))
        .sort();

      // Every run that ended on its own deleted its intermediates: only the terminated run's are left.
      const before = await blobs.objects.listAll();
      const scratch = before.filter((o) => o.name.startsWith('scratch/'));
      assert.ok(scratch.length > 0, 'the terminated run left its first intermediate');
      assert.ok(
        scratch.every((o) => o.name.startsWith(`scratch/${terminated.runId}/`)),
        names(scratch).join(', '),
      );
      assert.deepEqual(names(before.filter((o) => !o.name.startsWith('scratch/'))), expected);

      const galleryBefore = names(await gallery.listAll());
      assert.ok(galleryBefore.length > 1, 'some runs published to the gallery');
      const sweep = () => withWorkers(env, config, () => sweepNow(env.client, config.retentionMs));
      await visibleAsEnded(env.client, terminated.runId);
      const first = await sweep();
      t.diagnostic(`${driver.name}: first sweep ${JSON.stringify(first)}`);
      assert.deepEqual(names(await blobs.objects.listAll()), expected, 'exactly the originals and outputs');
      assert.deepEqual(first.scratch, {
        runs: 1,
        objects: scratch.length,
        bytes: scratch.reduce((sum, o) => sum + o.bytes, 0),
      });
      assert.deepEqual([first.running, first.expired.objects, first.kept.objects], [0, 0, expected.length]);

      // A sweep asking for a shorter retention than the worker's is refused, and deletes nothing.
      await assert.rejects(
        withWorkers(env, config, () => sweepNow(env.client, 0)),
        (err: Error) => /later than this worker's retention allows.*NANO_PHOTOS_RETENTION/.test(innermostMessage(err)),
      );
      assert.deepEqual(names(await blobs.objects.listAll()), expected);

      // Past the retention (a worker whose retention is over: the setting itself refuses less than 31 days).
      // Scratch of a run Temporal does not know (yet: visibility may lag behind a new run) is left for an hour.
      const unknown = await blobs.put(Buffer.from('pixels of a run just started'), 'raw', 'not-yet-visible-run');
      const past = { ...config, retentionMs: 0 };
      const last = await withWorkers(env, past, () => sweepNow(env.client, 0));
      assert.deepEqual(names(await blobs.objects.listAll()), [unknown.key], 'nothing of theirs left');
      assert.deepEqual([last.expired.objects, last.running, last.scratch.runs], [expected.length, 1, 0]);
      assert.deepEqual(names(await gallery.listAll()), galleryBefore, "the gallery's published copies are kept");
    });
  });
}

describe('the retention setting and the sweep Schedule', () => {
  const DAY = 86_400_000;

  it('NANO_PHOTOS_RETENTION: 35 days by default; less than the longest review plus a day is refused, naming it', () => {
    assert.equal(loadConfig({}).retentionMs, 35 * DAY);
    assert.equal(loadConfig({ NANO_PHOTOS_RETENTION: '90 days' }).retentionMs, 90 * DAY);
    assert.equal(loadConfig({ NANO_PHOTOS_RETENTION: '1000h' }).retentionMs, 1000 * 3_600_000);
    for (const raw of ['30 days', '2h', 'forever', '-40 days'])
      assert.throws(
        () => loadConfig({ NANO_PHOTOS_RETENTION: raw }),
        new RegExp(`NANO_PHOTOS_RETENTION: expected a duration of at least 31 days .*review.*received "${raw}"`),
      );
  });

  it('is created once, left alone when unchanged and brought up to date when the retention changes', async () => {
    try {
      assert.equal(await ensureSweepSchedule(env.client, 35 * DAY), 'created');
      assert.equal(await ensureSweepSchedule(env.client, 35 * DAY), 'unchanged');
      assert.equal(await ensureSweepSchedule(env.client, 40 * DAY), 'updated');
      const { action, spec, policies } = await env.client.schedule.getHandle(SWEEP_SCHEDULE_ID).describe();
      assert.equal(action.workflowType, 'sweepStore');
      assert.deepEqual(action.args, [{ retentionMs: 40 * DAY }]);
      assert.deepEqual(
        spec.intervals?.map((i) => i.every),
        [6 * 3_600_000],
      );
      assert.equal(policies.overlap, 'SKIP');
    } finally {
      await env.client.schedule
        .getHandle(SWEEP_SCHEDULE_ID)
        .delete()
        .catch(() => undefined);
    }
  });
});
