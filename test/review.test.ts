import assert from 'node:assert/strict';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WorkflowFailedError, WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { processPhoto, progressQuery, reviewUpdate } from '../workflows';
import { TASK_QUEUES } from '../src/common/task-queues';
import type { ProcessPhotoInput, Progress } from '../src/common/workflow-io';
import { jpeg } from './support/images';
import { tempWorld, withWorkers } from './support/pipeline';
import { timeSkippingEnv } from './support/temporal';

/**
 * Review before publishing, on the time-skipping server with real workers: a run started with `review` stops after
 * its filters until someone approves (then it shares) or rejects (then it shares nothing), and after the timeout it
 * gives up without publishing. Days of waiting take seconds.
 */
describe('review before publishing', () => {
  let env: TestWorkflowEnvironment;
  let world: ReturnType<typeof tempWorld>;
  let photo: string;
  let runs = 0;

  before(async () => {
    env = await timeSkippingEnv();
    world = tempWorld();
    photo = path.join(world.dir, 'photo.jpg');
    writeFileSync(photo, await jpeg({ width: 320, height: 240 }));
  });
  after(async () => {
    await env?.teardown();
    world?.cleanup();
  });

  const input = (extra: Partial<ProcessPhotoInput>): ProcessPhotoInput => ({
    source: { path: photo },
    filters: [{ filter: 'sepia' }],
    share: ['gallery'],
    ...extra,
  });
  const start = (extra: Partial<ProcessPhotoInput>) =>
    env.client.workflow.start(processPhoto, {
      taskQueue: TASK_QUEUES.workflow,
      workflowId: `review-${++runs}`,
      args: [input(extra)],
    });
  const galleryImages = () =>
    existsSync(world.config.galleryDir) ? readdirSync(world.config.galleryDir).filter((f) => f.endsWith('.jpg')) : [];
  /** Polls the query in wall time: the test server's clock only skips ahead while a client waits for a result. */
  async function progressAt(handle: WorkflowHandle, stage: Progress['stage']): Promise<Progress> {
    for (let i = 0; i < 300; i++) {
      const progress = await handle.query(progressQuery).catch(() => undefined);
      if (progress?.stage === stage) return progress;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`${handle.workflowId} never reached ${stage}`);
  }
  const refusal = (err: unknown) => {
    assert.ok(err instanceof WorkflowUpdateFailedError, `expected a refused update, got ${err}`);
    return String(err.cause?.message);
  };

  it('publishes nothing when nobody decides before the timeout', async () => {
    const result = await withWorkers(env, world.config, async () => {
      const handle = await start({ review: { timeout: '2 hours' } });
      const waiting = await progressAt(handle, 'review');
      assert.deepEqual(waiting.plan, ['upload', 'sepia', 'output', 'review', 'share:gallery']);
      assert.deepEqual(
        waiting.finished?.map((f) => f.step),
        ['upload', 'sepia', 'output'],
      );
      return handle.result();
    });
    assert.equal(result.review?.decision, 'timed-out');
    assert.deepEqual(result.shares, []);
    assert.deepEqual(galleryImages(), [], 'nothing reached the gallery');

    const handle = env.client.workflow.getHandle(`review-${runs}`);
    const events = (await handle.fetchHistory()).events ?? [];
    const waited = Number(events.at(-1)!.eventTime!.seconds) - Number(events[0].eventTime!.seconds);
    assert.ok(waited >= 2 * 3600 && waited < 3 * 3600, `waited ${waited} s of workflow time, expected 2 hours`);
    assert.ok(!events.some((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'shareGallery'));
    const memo = (await handle.describe()).memo as { review?: { decision: string } };
    assert.equal(memo.review?.decision, 'timed-out');
    await assert.rejects(handle.executeUpdate(reviewUpdate, { args: [{ decision: 'approve', by: 'late' }] }));
  });

  it('waits 24 hours by default, shares once approved, records who approved and refuses a second decision', async () => {
    const result = await withWorkers(env, world.config, async () => {
      const handle = await start({ review: {} });
      const waiting = await progressAt(handle, 'review');
      const started = (await handle.describe()).startTime.getTime();
      // 24 hours from the moment the filters were done, a few seconds after the start.
      const hours = (Date.parse(waiting.review!.deadline) - started) / 3_600_000;
      assert.ok(hours >= 24 && hours < 24 + 1 / 60, `the deadline is ${hours} h after the start`);
      assert.equal(galleryImages().length, 0, 'not published while waiting');

      await assert.rejects(handle.executeUpdate(reviewUpdate, { args: [{ decision: 'approve', by: '' }] }), (err) =>
        /expected by \(who decides\) to be a name of 1 to 100 characters, received ""/.test(refusal(err)),
      );
      await assert.rejects(
        handle.executeUpdate(reviewUpdate, { args: [{ decision: 'maybe' as 'approve', by: 'ann' }] }),
        (err) => /expected decision to be approve or reject, received "maybe"/.test(refusal(err)),
      );
      const outcome = await handle.executeUpdate(reviewUpdate, {
        args: [{ decision: 'approve', by: 'Ann Example', note: 'lovely' }],
      });
      assert.equal(outcome.decision, 'approved');
      await assert.rejects(handle.executeUpdate(reviewUpdate, { args: [{ decision: 'reject', by: 'Bob' }] }), (err) =>
        /review was already approved by Ann Example/.test(refusal(err)),
      );
      return handle.result();
    });
    assert.deepEqual(result.review && { ...result.review, at: undefined }, {
      decision: 'approved',
      by: 'Ann Example',
      note: 'lovely',
      at: undefined,
    });
    assert.equal(result.shares[0].target, 'gallery');
    assert.equal(galleryImages().length, 1, 'published once approved');
    const handle = env.client.workflow.getHandle(`review-${runs}`);
    const memo = (await handle.describe()).memo as { review?: { by: string } };
    assert.equal(memo.review?.by, 'Ann Example');
    const events = (await handle.fetchHistory()).events ?? [];
    const accepted = events.filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes);
    assert.equal(accepted.length, 1, 'refused decisions left nothing in history');
  });

  it('shares nothing when rejected', async () => {
    const before = galleryImages().length;
    const result = await withWorkers(env, world.config, async () => {
      const handle = await start({ review: { timeout: '3 days' } });
      await progressAt(handle, 'review');
      await handle.executeUpdate(reviewUpdate, { args: [{ decision: 'reject', by: 'Cy' }] });
      return handle.result();
    });
    assert.equal(result.review?.decision, 'rejected');
    assert.equal(result.review?.by, 'Cy');
    assert.deepEqual(result.shares, []);
    assert.equal(galleryImages().length, before);
  });

  it('refuses a decision for a run started without review', async () => {
    await withWorkers(env, world.config, async () => {
      const handle = await start({});
      await assert.rejects(handle.executeUpdate(reviewUpdate, { args: [{ decision: 'approve', by: 'Ann' }] }), (err) =>
        /this run is not waiting for review/.test(refusal(err)),
      );
      await handle.result();
    });
  });

  it('fails at once on a bad review timeout, naming the field and the range', async () => {
    await assert.rejects(
      withWorkers(env, world.config, async () => (await start({ review: { timeout: 'soon' } })).result()),
      (err: unknown) => {
        assert.ok(err instanceof WorkflowFailedError);
        assert.equal(
          err.cause?.message,
          'expected review.timeout to be a duration between 1 minute and 30 days, like "90 minutes", "24h" or "7 days", received "soon"',
        );
        return true;
      },
    );
  });
});
