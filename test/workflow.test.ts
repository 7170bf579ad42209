import assert from 'node:assert/strict';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { SHARE_MAX_ATTEMPTS } from '../workflows/activity-options';
import { processPhoto } from '../workflows/process-photo';
import { TASK_QUEUES } from '../src/common/task-queues';
import type { ProcessPhotoInput } from '../src/common/workflow-io';
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
