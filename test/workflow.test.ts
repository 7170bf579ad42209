import assert from 'node:assert/strict';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { SHARE_MAX_ATTEMPTS } from '../workflows/activity-options';
import { loadConfig } from '../src/lib/config';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { processPhoto, progressQuery } from '../workflows/process-photo';
import { TASK_QUEUES } from '../src/common/task-queues';
import type { FilterStep } from '../src/common/types';
import type { ProcessPhotoInput, Progress } from '../src/common/workflow-io';
import { jpeg, truncatedJpeg } from './support/images';
import { tempWorld, withWorkers } from './support/pipeline';
import { timeSkippingEnv } from './support/temporal';
import { startWebhookReceiver, type WebhookReceiver } from './support/webhook-receiver';

const SECRET = 'time-skipping-secret';

describe('processPhoto on the time-skipping server', () => {
  let env: TestWorkflowEnvironment;
  let receiver: WebhookReceiver;
  let world: ReturnType<typeof tempWorld>;
  let photo: string;
  let runs = 0;

  before(async () => {
    env = await timeSkippingEnv();
    receiver = await startWebhookReceiver({ secret: SECRET });
    world = tempWorld({ url: receiver.url, secret: SECRET });
    photo = path.join(world.dir, 'photo.jpg');
    writeFileSync(photo, await jpeg({ width: 320, height: 240 }));
  });
  after(async () => {
    await receiver?.close();
    await env?.teardown();
    world?.cleanup();
  });

  const run = (input: ProcessPhotoInput) =>
    withWorkers(env, world.config, () =>
      env.client.workflow.execute(processPhoto, {
        taskQueue: TASK_QUEUES.workflow,
        workflowId: `ts-${++runs}`,
        args: [input],
      }),
    );
  const history = (id: string) =>
    env.client.workflow
      .getHandle(id)
      .fetchHistory()
      .then((h) => h.events ?? []);
  const galleryImages = () =>
    existsSync(world.config.galleryDir)
      ? readdirSync(world.config.galleryDir).filter((f) => /\.(jpg|png)$/.test(f))
      : [];

  /**
   * Runs `input` with every activity asking the run for its progress (the `progress` query) as it starts, before
   * it does its work: the run waits on that activity meanwhile, so each answer is the progress at that stage.
   */
  async function runWatchingProgress(input: ProcessPhotoInput) {
    const workflowId = `ts-${++runs}`;
    const atStart: { activity: string; progress: Progress }[] = [];
    const probe: ActivityInterceptorsFactory = (ctx) => ({
      inbound: {
        async execute(args, next) {
          const handle = env.client.workflow.getHandle(ctx.info.workflowExecution!.workflowId);
          atStart.push({ activity: ctx.info.activityType, progress: await handle.query(progressQuery) });
          return next(args);
        },
      },
    });
    // A gallery folder of its own: the other tests here check that theirs stays empty.
    const config = {
      ...loadConfig({
        NANO_PHOTOS_DATA_DIR: world.config.dataDir,
        NANO_PHOTOS_UPLOAD_ROOTS: world.dir,
        NANO_PHOTOS_GALLERY_DIR: path.join(world.dir, 'gallery-progress'),
      }),
      webhook: world.config.webhook,
    };
    return withWorkers(
      env,
      config,
      async () => {
        const handle = await env.client.workflow.start(processPhoto, {
          taskQueue: TASK_QUEUES.workflow,
          workflowId,
          args: [input],
        });
        const result = await handle.result();
        return { workflowId, result, atStart, final: await handle.query(progressQuery) };
      },
      [probe],
    );
  }
  /** What the progress says, without the artifacts and receipts. */
  const stage = ({ stage, step, stepsDone, stepsTotal }: Progress) => ({ stage, step, stepsDone, stepsTotal });
  const CHAIN: FilterStep[] = [{ filter: 'resize', params: { width: 160 } }, { filter: 'sepia' }];

  it('reports its progress at every stage, one step per activity (and the output step added)', async () => {
    const { result, atStart, final } = await runWatchingProgress({
      source: { path: photo },
      filters: CHAIN,
      share: ['gallery'],
    });
    // upload + resize + sepia + the output the chain was completed with + one share.
    assert.deepEqual(
      atStart.map((s) => ({ activity: s.activity, ...stage(s.progress) })),
      [
        { activity: 'upload', stage: 'upload', step: 'upload', stepsDone: 0, stepsTotal: 5 },
        { activity: 'resize', stage: 'filter', step: 'resize', stepsDone: 1, stepsTotal: 5 },
        { activity: 'sepia', stage: 'filter', step: 'sepia', stepsDone: 2, stepsTotal: 5 },
        { activity: 'output', stage: 'filter', step: 'output', stepsDone: 3, stepsTotal: 5 },
        { activity: 'shareGallery', stage: 'share', step: 'share:gallery', stepsDone: 4, stepsTotal: 5 },
        // The run's intermediates go when it ends: upkeep, not a step of the plan.
        { activity: 'deleteScratch', stage: 'done', step: 'done', stepsDone: 5, stepsTotal: 5 },
      ],
    );
    assert.deepEqual(atStart[1].progress.currentArtifact, result.original, 'resize starts from the original');
    assert.deepEqual(atStart[4].progress.currentArtifact, result.output, 'the share starts from the output');
    assert.deepEqual(stage(final), { stage: 'done', step: 'done', stepsDone: 5, stepsTotal: 5 });
    assert.deepEqual(final.shares, result.shares);
  });

  it('with fuse: true runs the chain as one applyChain activity: same output, progress in the same units', async () => {
    const separate = await runWatchingProgress({ source: { path: photo }, filters: CHAIN, share: ['gallery'] });
    const { workflowId, result, atStart, final } = await runWatchingProgress({
      source: { path: photo },
      filters: CHAIN,
      share: ['gallery'],
      fuse: true,
    });
    assert.equal(result.output.key, separate.result.output.key, 'the same output blob as one activity per step');
    assert.deepEqual(result.steps, [{ filter: 'resize+sepia+output', image: result.output }]);
    const scheduled = (await history(workflowId)).flatMap(
      (e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? [],
    );
    assert.deepEqual(scheduled, ['upload', 'applyChain', 'shareGallery']);
    // The fused activity counts as the three steps it runs: the totals match the unfused run's.
    assert.deepEqual(
      atStart.map((s) => ({ activity: s.activity, ...stage(s.progress) })),
      [
        { activity: 'upload', stage: 'upload', step: 'upload', stepsDone: 0, stepsTotal: 5 },
        { activity: 'applyChain', stage: 'filter', step: 'resize+sepia+output', stepsDone: 1, stepsTotal: 5 },
        { activity: 'shareGallery', stage: 'share', step: 'share:gallery', stepsDone: 4, stepsTotal: 5 },
      ],
    );
    assert.deepEqual(atStart[2].progress.currentArtifact, result.output);
    assert.deepEqual(stage(final), { stage: 'done', step: 'done', stepsDone: 5, stepsTotal: 5 });
  });

  it('rides out a webhook that is down for an hour, in seconds of wall time', async () => {
    // The first 19 attempts back off 2 s, 4 s, ... up to 5 minutes apart: more than an hour of outage.
    receiver.failNext(19);
    const before = receiver.accepted.length;
    const result = await run({ source: { path: photo }, filters: [{ filter: 'sepia' }], share: ['webhook'] });
    assert.equal(result.shares[0].target, 'webhook');
    assert.equal(receiver.accepted.length, before + 1, 'exactly one visible post');
    assert.equal(receiver.posts.filter((p) => p.status === 500).length, 19);

    const events = await history(`ts-${runs}`);
    const started = Number(events[0].eventTime!.seconds);
    const ended = Number(events.at(-1)!.eventTime!.seconds);
    assert.ok(ended - started >= 3600, `the run spanned ${ended - started} s of workflow time, expected over an hour`);
  });

  it('a bare worker reads local photos from its inbox, which it creates, and from nowhere else', async () => {
    const bare = tempWorld(undefined, { NANO_PHOTOS_UPLOAD_ROOTS: undefined }); // as a bare `npm run worker`
    try {
      assert.deepEqual(bare.config.upload.allowedRoots, [path.join(bare.dir, 'inbox')]);
      assert.ok(!existsSync(bare.config.inboxDir));
      const outside = path.join(bare.dir, 'outside.jpg');
      writeFileSync(outside, await jpeg());
      const runIn = (file: string) =>
        withWorkers(env, bare.config, () =>
          env.client.workflow.execute(processPhoto, {
            taskQueue: TASK_QUEUES.workflow,
            workflowId: `ts-${++runs}`,
            args: [{ source: { path: file }, share: ['gallery'] }],
          }),
        );
      await assert.rejects(runIn(outside), (err: unknown) => {
        assert.ok(err instanceof WorkflowFailedError);
        assert.match(
          String((err.cause?.cause as Error | undefined)?.message),
          /expected path to lie under one of \[".*\/inbox"\] \(allowedRoots, set by NANO_PHOTOS_UPLOAD_ROOTS/,
        );
        return true;
      });
      assert.ok(existsSync(bare.config.inboxDir), 'the worker made its inbox');
      const inside = path.join(bare.config.inboxDir, 'inside.jpg');
      writeFileSync(inside, await jpeg());
      const result = await runIn(inside);
      assert.ok(existsSync(result.shares[0].location));
    } finally {
      bare.cleanup();
    }
  });

  it('fails at once, with nothing done, on an unknown filter', async () => {
    await assert.rejects(
      run({ source: { path: photo }, filters: [{ filter: 'vignette' }], share: ['gallery'] }),
      (err: unknown) => {
        assert.ok(err instanceof WorkflowFailedError);
        assert.match(String(err.cause?.message), /unknown filter "vignette"; expected one of resize/);
        return true;
      },
    );
    const events = await history(`ts-${runs}`);
    assert.ok(!events.some((e) => e.activityTaskScheduledEventAttributes), 'no service was called');
  });

  it('fails on the first attempt, non-retryably, when the upload is a truncated JPEG', async () => {
    const broken = path.join(world.dir, 'broken.jpg');
    writeFileSync(broken, await truncatedJpeg());
    await assert.rejects(
      run({ source: { path: broken }, filters: [{ filter: 'sepia' }], share: ['gallery'] }),
      (err: unknown) => {
        assert.ok(err instanceof WorkflowFailedError);
        assert.match(String((err.cause?.cause as Error | undefined)?.message), /damaged|truncated|premature|decode/i);
        return true;
      },
    );
    const events = await history(`ts-${runs}`);
    const attempts = events
      .filter((e) => e.activityTaskStartedEventAttributes)
      .map((e) => e.activityTaskStartedEventAttributes!.attempt);
    assert.deepEqual(attempts, [1], 'one upload attempt, no retries');
    assert.deepEqual(galleryImages(), []);
  });

  it('gives up on a target that fails forever, after bounded retries, and removes the gallery entry', async () => {
    receiver.setMode('fail-500');
    const postsBefore = receiver.posts.length;
    try {
      await assert.rejects(
        run({ source: { path: photo }, filters: [{ filter: 'grayscale' }], share: ['gallery', 'webhook'] }),
        (err: unknown) => {
          assert.ok(err instanceof WorkflowFailedError);
          assert.match(
            String(err.cause?.message),
            /sharing failed \(webhook: .*500.*\); the gallery entry was removed/,
          );
          return true;
        },
      );
    } finally {
      receiver.setMode('ok');
    }
    assert.equal(
      receiver.posts.length - postsBefore,
      SHARE_MAX_ATTEMPTS,
      'every attempt reached the receiver, then it stopped',
    );
    assert.deepEqual(galleryImages(), [], 'the gallery publish was compensated');
  });
});
