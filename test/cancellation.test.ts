import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { CancelledFailure, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { processPhoto, progressQuery } from '../workflows/process-photo';
import { TASK_QUEUES } from '../src/common/task-queues';
import type { ProcessPhotoInput, Progress } from '../src/common/workflow-io';
import { projectRoot } from '../src/lib/project-root';
import { jpeg } from './support/images';
import { tempWorld, withWorkers } from './support/pipeline';
import { timeSkippingEnv } from './support/temporal';
import { startWebhookReceiver, type WebhookReceiver } from './support/webhook-receiver';

/**
 * Cancelling a run, on the time-skipping server with real workers, files and a webhook receiver: the run stops,
 * whatever it published that can be taken back is removed even though the run is being cancelled, and a failure
 * of that removal is reported beside the original failure.
 */

const SECRET = 'cancellation-secret';
type World = ReturnType<typeof tempWorld>;

describe('cancelling a run', () => {
  let env: TestWorkflowEnvironment;
  let receiver: WebhookReceiver;
  let runs = 0;
  const worlds: World[] = [];

  before(async () => {
    env = await timeSkippingEnv();
    receiver = await startWebhookReceiver({ secret: SECRET });
  });
  after(async () => {
    await receiver?.close();
    await env?.teardown();
    for (const world of worlds) world.cleanup();
  });

  async function newWorld(settings: NodeJS.ProcessEnv = {}) {
    const world = tempWorld({ url: receiver.url, secret: SECRET }, settings);
    worlds.push(world);
    const photo = path.join(world.dir, 'photo.jpg');
    writeFileSync(photo, await jpeg({ width: 320, height: 240 }));
    return { world, photo };
  }

  const galleryImages = (world: World) =>
    existsSync(world.config.galleryDir)
      ? readdirSync(world.config.galleryDir).filter((f) => /\.(jpg|png)$/.test(f))
      : [];

  const start = (input: ProcessPhotoInput) =>
    env.client.workflow.start(processPhoto, {
      taskQueue: TASK_QUEUES.workflow,
      workflowId: `cancel-${++runs}`,
      args: [input],
    });

  /** Polls the progress query (in real time: nothing waits on the result, so the server does not skip time). */
  async function waitFor(handle: WorkflowHandle, what: string, done: (p: Progress) => boolean): Promise<Progress> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const progress = await handle.query(progressQuery).catch(() => undefined);
      if (progress && done(progress)) return progress;
      assert.ok(Date.now() < deadline, `timed out waiting for ${what}; last progress ${JSON.stringify(progress)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  const eventTypes = async (handle: WorkflowHandle) =>
    ((await handle.fetchHistory()).events ?? []).map((e) => ({
      cancelRequested: !!e.workflowExecutionCancelRequestedEventAttributes,
      scheduled: e.activityTaskScheduledEventAttributes?.activityType?.name ?? undefined,
    }));

  /**
   * Runs `body` on a run (gallery and webhook, `filter` first) that has published to the gallery and is held in its
   * share stage by a failing webhook, with the workers up.
   */
  async function whilePublishedToGallery(
    filter: 'flip' | 'flop',
    body: (handle: WorkflowHandle, world: World) => Promise<void>,
  ): Promise<World> {
    const { world, photo } = await newWorld();
    receiver.setMode('fail-500');
    try {
      await withWorkers(env, world.config, async () => {
        const handle = await start({ source: { path: photo }, filters: [{ filter }], share: ['gallery', 'webhook'] });
        await waitFor(handle, 'the gallery share', (p) => p.shares.some((s) => s.target === 'gallery'));
        await body(handle, world);
      });
    } finally {
      receiver.setMode('ok');
    }
    return world;
  }

  /** The gallery's disk goes bad: its folder is replaced by a file, so removing the entry fails every time. */
  function breakGallery(world: World): void {
    renameSync(world.config.galleryDir, `${world.config.galleryDir}.aside`);
    writeFileSync(world.config.galleryDir, 'not a folder');
  }

  it('`npm run photo -- cancel` stops a run in the middle of a filter; nothing is published', async () => {
    const { world, photo } = await newWorld({ NANO_PHOTOS_FILTER_DELAY_MS: '60000' });
    await withWorkers(env, world.config, async () => {
      const handle = await start({ source: { path: photo }, filters: [{ filter: 'sepia' }], share: ['gallery'] });
      await waitFor(handle, 'the sepia step', (p) => p.stage === 'filter');
      const began = Date.now();
      const { stdout } = await promisify(execFile)(
        process.execPath,
        ['--import', 'tsx', 'src/bin/photo.ts', 'cancel', handle.workflowId],
        { cwd: projectRoot, env: { ...process.env, TEMPORAL_ADDRESS: env.address, TEMPORAL_NAMESPACE: 'default' } },
      );
      assert.match(stdout, new RegExp(`${handle.workflowId}: CANCELLED`));
      assert.ok(Date.now() - began < 20_000, 'the 60 s filter did not have to finish first');
      assert.equal((await handle.describe()).status.name, 'CANCELLED');
    });
    assert.deepEqual(galleryImages(world), []);
  });

  it('a run cancelled while sharing removes the gallery entry it had published, and ends CANCELLED', async () => {
    const world = await whilePublishedToGallery('flip', async (handle, world) => {
      assert.equal(galleryImages(world).length, 1, 'published');
      await handle.cancel();
      await assert.rejects(handle.result(), (err: unknown) => {
        assert.ok(err instanceof WorkflowFailedError);
        assert.ok(err.cause instanceof CancelledFailure, `expected a cancellation, got ${err.cause}`);
        return true;
      });
      assert.equal((await handle.describe()).status.name, 'CANCELLED');
      // The removal was scheduled after the cancellation arrived: the non-cancellable compensation.
      const events = await eventTypes(handle);
      const cancelAt = events.findIndex((e) => e.cancelRequested);
      assert.ok(cancelAt > 0, 'the cancellation is in the history');
      assert.ok(events.slice(cancelAt).some((e) => e.scheduled === 'unpublishGallery'));
    });
    assert.deepEqual(galleryImages(world), [], 'the cancelled run left nothing in the gallery');
  });

  it('if removing the gallery entry fails while cancelling, the run fails saying both', async () => {
    await whilePublishedToGallery('flop', async (handle, world) => {
      breakGallery(world);
      await handle.cancel();
      await assert.rejects(handle.result(), (err: unknown) => {
        assert.ok(err instanceof WorkflowFailedError);
        assert.ok(err.cause instanceof ApplicationFailure, `got ${err.cause}`);
        assert.equal(err.cause.type, 'CompensationFailed');
        assert.match(err.cause.message, /^the run was cancelled, and removing the gallery entry failed: .*EEXIST/);
        assert.ok(err.cause.cause instanceof Error, 'the cancellation itself is kept as the cause');
        return true;
      });
      assert.equal((await handle.describe()).status.name, 'FAILED');
    });
  });

  it('if removing the gallery entry fails after a share failed, the run reports both', async () => {
    await whilePublishedToGallery('flip', async (handle, world) => {
      breakGallery(world);
      // Waiting on the result lets the server skip through the webhook's retries and the removal's.
      await assert.rejects(handle.result(), (err: unknown) => {
        assert.ok(err instanceof WorkflowFailedError);
        assert.ok(err.cause instanceof ApplicationFailure);
        assert.equal(err.cause.type, 'ShareFailed');
        assert.match(
          err.cause.message,
          /^sharing failed \(webhook: .*500.*\); removing the gallery entry failed: .*EEXIST.*, it may still be published/,
        );
        return true;
      });
    });
  });
});
