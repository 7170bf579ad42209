import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@temporalio/client';
import { msToNumber } from '@temporalio/common/lib/time';
import { startPhotoRun } from '../../src/lib/photo-runs';
import { shareOptions } from '../../workflows/activity-options';
import type { GalleryEntry } from '../../activities/share/gallery-page';
import { jpeg } from '../support/images';
import {
  activityRecords,
  assertCompletedAfterTimeout,
  Processes,
  waitFor,
  type WorkerProcess,
} from '../support/processes';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver';

const SECRET = 'share-crash-secret';

describe('the share worker killed after the webhook was delivered', { timeout: 5 * 60_000 }, () => {
  const world = new Processes();
  let address: string;
  let client: Client;
  let receiver: WebhookReceiver;
  /** Set by the test: the receiver kills this process when the run's first post arrives. */
  let victim: { key: string; worker: WorkerProcess; killed?: boolean } | undefined;

  before(async () => {
    ({ address, client } = await world.start());
    receiver = await startWebhookReceiver({
      secret: SECRET,
      // The post has arrived and is recorded; the share worker dies before it can hear the answer.
      async onPost(post) {
        if (victim && !victim.killed && post.idempotencyKey === victim.key) {
          victim.killed = true;
          await victim.worker.kill('SIGKILL');
        }
      },
    });
  });
  after(async () => {
    await receiver?.close();
    await world.cleanup();
  });

  it('is retried by a new share worker; the receiver accepts one post, the first, and there is one gallery entry', async () => {
    const photo = path.join(world.dir, 'photo.jpg');
    writeFileSync(photo, await jpeg({ width: 320, height: 240 }));
    const webhook = { url: receiver.url, secret: SECRET };
    const start = (services: ('workflow' | 'upload' | 'filter' | 'share')[]) =>
      world.startWorker({ services, address, dataDir: world.dataDir, webhook });
    await start(['workflow', 'upload', 'filter']);
    const doomed = await start(['share']);

    const workflowId = `share-crash-${Date.now()}`;
    const key = `${workflowId}:webhook`;
    victim = { key, worker: doomed };
    const handle = await startPhotoRun(
      client,
      { source: { path: photo }, filters: [{ filter: 'grayscale' }], share: ['gallery', 'webhook'] },
      workflowId,
    );
    // The killing happens in the receiver; replace the worker as soon as it is gone.
    await waitFor('the receiver to kill the share worker', () => !doomed.running(), { timeoutMs: 90_000 });
    assert.ok(victim.killed, `the share worker was killed by the receiver, not by something else:\n${doomed.output()}`);
    assert.equal(doomed.process.signalCode, 'SIGKILL');
    const successor = await start(['share']);

    const result = await handle.result();

    // What the receiver accepted, in all: one post, the one delivered before the kill, describing this run's output.
    const sent = receiver.posts.filter((p) => p.idempotencyKey === key);
    assert.ok(sent.length >= 2, `the retry posted again (${sent.length} posts)`);
    assert.deepEqual(receiver.accepted, [sent[0]], 'the one accepted post is the first delivery');
    assert.ok(sent.every((p) => p.signatureValid));
    const message = (sent[0].body as { content: string }).content;
    const { output } = result;
    assert.ok(
      message.includes(`${output.width}×${output.height} ${output.format}`) &&
        message.includes(output.sha256.slice(0, 12)),
      `the accepted post describes this run's output: ${message}`,
    );
    // The later posts were the same message (dropping them lost nothing), and the receiver answered them as replays.
    for (const retry of sent.slice(1)) assert.deepEqual(retry.body, sent[0].body);
    assert.deepEqual(
      sent.map((p) => p.status),
      sent.map(() => 200),
    );
    // The retry came only when the first attempt's start-to-close timeout had run out: its answer was never heard.
    const startToCloseMs = msToNumber(shareOptions.startToCloseTimeout!);
    assert.ok(
      sent[1].receivedAt - sent[0].receivedAt >= startToCloseMs,
      `second post ${sent[1].receivedAt - sent[0].receivedAt} ms after the first; start-to-close is ${startToCloseMs} ms`,
    );
    const webhookReceipt = result.shares.find((s) => s.target === 'webhook')!;
    assert.equal(webhookReceipt.duplicate, true, 'the activity that completed was told the post was a replay');

    // History: the webhook share completed on a later attempt, by the new process, after the first timed out.
    const share = await assertCompletedAfterTimeout(handle, 'shareWebhook', successor);

    // Gallery: one entry (sidecar and image) for the run, listed once on the page, whichever attempt published it.
    const galleryDir = world.config().galleryDir;
    const entries = readdirSync(galleryDir)
      .filter((f) => f.endsWith('.json'))
      .map((f) => JSON.parse(readFileSync(path.join(galleryDir, f), 'utf8')) as GalleryEntry)
      .filter((e) => e.idempotencyKey === `${workflowId}:gallery`);
    assert.equal(entries.length, 1, 'one gallery entry');
    const images = readdirSync(galleryDir).filter((f) => f.startsWith(workflowId) && !f.endsWith('.json'));
    assert.deepEqual(images, [entries[0].file]);
    const page = readFileSync(path.join(galleryDir, 'index.html'), 'utf8');
    assert.equal(
      page.split(`<img src="${encodeURIComponent(entries[0].file)}"`).length - 1,
      1,
      'listed once on the page',
    );
    const gallery = (await activityRecords(handle)).find((a) => a.type === 'shareGallery')!;
    assert.equal(gallery.outcome, 'completed');
    console.log(
      `webhook: ${sent.length} posts, ${receiver.accepted.length} accepted, completed on attempt ${share.attempt}; ` +
        `gallery: completed on attempt ${gallery.attempt}${result.shares.find((s) => s.target === 'gallery')!.duplicate ? ' (already published)' : ''}`,
    );
  });
});
