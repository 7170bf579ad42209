import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { DEFAULT_ALBUM_BATCH, type AlbumInput } from '../src/common/album';
import { PHOTO_FILTERS } from '../src/common/search-attributes';
import { TASK_QUEUES } from '../src/common/task-queues';
import { albumProgressQuery, processAlbum } from '../workflows';
import { jpeg } from './support/images';
import { tempWorld, withWorkers } from './support/pipeline';
import { timeSkippingEnv } from './support/temporal';

/**
 * Albums on the time-skipping server with real workers: a child processPhoto per photo, a bounded number at once,
 * one bad photo failing alone, and continue-as-new keeping each run's history to one batch.
 */
describe('albums', () => {
  let env: TestWorkflowEnvironment;
  let world: ReturnType<typeof tempWorld>;
  let good: string;
  let bad: string;

  before(async () => {
    env = await timeSkippingEnv();
    world = tempWorld();
    good = path.join(world.dir, 'good.jpg');
    bad = path.join(world.dir, 'notes.txt');
    writeFileSync(good, await jpeg({ width: 200, height: 150 }));
    writeFileSync(bad, 'not a photo');
  });
  after(async () => {
    await env?.teardown();
    world?.cleanup();
  });

  const eventsOf = async (workflowId: string, runId?: string) =>
    (await env.client.workflow.getHandle(workflowId, runId).fetchHistory()).events ?? [];

  it('runs five photos two at a time in batches of two; the bad one fails alone', async (t) => {
    const photos = [good, good, bad, good, good].map((file, i) => ({ source: { path: file }, title: `p${i + 1}` }));
    const input: AlbumInput = {
      title: 'Holiday',
      photos,
      filters: [{ filter: 'grayscale' }],
      share: ['gallery'],
      concurrency: 2,
      batchSize: 2,
    };
    const { result, progress, firstRunId } = await withWorkers(env, world.config, async () => {
      const handle = await env.client.workflow.start(processAlbum, {
        taskQueue: TASK_QUEUES.workflow,
        workflowId: 'album-1',
        args: [input],
      });
      const result = await handle.result();
      return { result, progress: await handle.query(albumProgressQuery), firstRunId: handle.firstExecutionRunId };
    });
    assert.deepEqual([result.total, result.done, result.failed], [5, 4, 1]);
    assert.deepEqual(
      result.outcomes.map((o) => [o.workflowId, o.state]),
      [
        ['album-1-0001', 'done'],
        ['album-1-0002', 'done'],
        ['album-1-0003', 'failed'],
        ['album-1-0004', 'done'],
        ['album-1-0005', 'done'],
      ],
    );
    assert.match(result.outcomes[2].error ?? '', /^upload: not a supported image/);
    assert.equal(result.outcomes[0].output?.format, 'jpeg');
    assert.deepEqual(
      progress.photos.map((p) => p.title),
      ['p1', 'p2', 'p3', 'p4', 'p5'],
    );
    assert.equal(progress.title, 'Holiday');

    // Continue-as-new after every two photos: three runs, each holding one batch.
    const sizes: number[] = [];
    for (let runId: string | undefined = firstRunId; runId;) {
      const events = await eventsOf('album-1', runId);
      sizes.push(events.length);
      runId = events.at(-1)!.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
    }
    assert.equal(sizes.length, 3, 'five photos in batches of two make three runs');
    const perPhoto = Math.max(...sizes) / 2;
    t.diagnostic(`album runs of ${sizes.join(', ')} history events: at most ${perPhoto} per photo`);
    assert.ok(perPhoto <= 12, `history events per photo: ${perPhoto} (runs of ${sizes.join(', ')} events)`);
    // At the default batch size, a run of any album (500 photos or more) stays far below Temporal's limits.
    assert.ok(perPhoto * DEFAULT_ALBUM_BATCH < 2_000);

    // Never more than two photos at once: their runs' lifetimes overlap at most pairwise.
    const seconds = (t: { seconds?: unknown; nanos?: number | null }) => Number(t.seconds) + (t.nanos ?? 0) / 1e9;
    const spans = await Promise.all(
      result.outcomes.map(async (o) => {
        const events = await eventsOf(o.workflowId);
        return [seconds(events[0].eventTime!), seconds(events.at(-1)!.eventTime!)];
      }),
    );
    const most = Math.max(...spans.map(([start]) => spans.filter(([s, e]) => s <= start && start < e).length));
    assert.ok(most <= 2, `${most} photos ran at once`);

    // Each photo's run started titled and findable: the album sent its labels, so the run set none before its upload.
    const photo = env.client.workflow.getHandle('album-1-0004');
    const { memo, typedSearchAttributes } = await photo.describe();
    assert.equal((memo as { title?: string }).title, 'p4');
    assert.deepEqual(typedSearchAttributes.get(PHOTO_FILTERS), ['grayscale']);
    const events = await eventsOf('album-1-0004');
    const upload = events.findIndex((e) => e.activityTaskScheduledEventAttributes);
    const labelled = events
      .slice(0, upload)
      .filter((e) => e.workflowPropertiesModifiedEventAttributes || e.upsertWorkflowSearchAttributesEventAttributes);
    assert.equal(labelled.length, 1, 'before the upload, only the update that goes with the patch marker');
  });

  it('refuses a bad album request before any photo starts', async () => {
    await assert.rejects(
      withWorkers(env, world.config, () =>
        env.client.workflow.execute(processAlbum, {
          taskQueue: TASK_QUEUES.workflow,
          workflowId: 'album-bad',
          args: [{ photos: [{ source: { path: good } }], concurrency: 100 }],
        }),
      ),
      (err: unknown) => {
        assert.ok(err instanceof WorkflowFailedError);
        assert.equal(err.cause?.message, 'expected concurrency to be an integer between 1 and 32, received 100');
        return true;
      },
    );
    const events = await eventsOf('album-bad');
    assert.ok(!events.some((e) => e.startChildWorkflowExecutionInitiatedEventAttributes), 'no photo started');
  });
});
