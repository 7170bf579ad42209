import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment, type TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { createBlueskyShare } from '../../activities/share/bluesky';
import { BLUESKY_IMAGE_LIMITS } from '../../src/common/share-limits';
import type { ShareInput, ShareReceipt } from '../../src/common/types';
import { FileBlobStore } from '../../src/lib/blob-store';
import { startPhotoRun } from '../../src/lib/photo-runs';
import { canvas } from '../support/images';
import { tempWorld, withWorkers } from '../support/pipeline';
import { devServerEnv } from '../support/temporal';
import { startBlueskyNetwork, type BlueskyAccount, type BlueskyNetwork } from '../../src/lib/bluesky-network';

const COLLECTION = 'app.bsky.feed.post';

/** The run's posts, read back from the PDS itself. */
async function postsOf(account: BlueskyAccount) {
  const { data } = await account.agent.com.atproto.repo.listRecords({ repo: account.did, collection: COLLECTION });
  return data.records;
}

describe('sharing to a real local Bluesky network', { timeout: 10 * 60_000 }, () => {
  let env: TestWorkflowEnvironment;
  let network: BlueskyNetwork;
  let alice: BlueskyAccount;
  let world: ReturnType<typeof tempWorld>;
  let photo: string;

  before(async () => {
    [env, network] = await Promise.all([devServerEnv(), startBlueskyNetwork()]);
    alice = await network.createAccount('alice');
    world = tempWorld();
    world.config.bluesky = alice.settings;
    photo = path.join(world.dir, 'holiday.jpg');
    // Noisy and large: its high-quality output is far over Bluesky's 1 MB, so the run must make a variant.
    writeFileSync(photo, await canvas({ width: 2600, height: 1700 }).jpeg({ quality: 95 }).toBuffer());
  });
  after(async () => {
    await env?.teardown();
    await network?.stop();
    world?.cleanup();
  });

  it('posts the photo once, fitted to the limits, with the title as alt text, and reads it back', async () => {
    const started = Date.now();
    const { handle, result } = await withWorkers(env, world.config, async () => {
      const handle = await startPhotoRun(env.client, {
        source: { path: photo },
        filters: [{ filter: 'sepia' }, { filter: 'output', params: { format: 'jpeg', quality: 95 } }],
        share: ['bluesky'],
        title: 'Holiday at the lake 🏖️',
      });
      return { handle, result: await handle.result() };
    });
    const [receipt] = result.shares;
    assert.equal(receipt.target, 'bluesky');
    assert.equal(receipt.account, alice.handle);
    assert.equal(receipt.duplicate, false);
    assert.match(receipt.location, new RegExp(`^at://${alice.did}/${COLLECTION}/[2-7a-z]{13}$`));

    // The variant: made by the filter service from the output, within every limit.
    const variant = receipt.image!;
    assert.ok(result.output.bytes > BLUESKY_IMAGE_LIMITS.maxBytes, `output is ${result.output.bytes} bytes`);
    assert.notEqual(variant.key, result.output.key);
    assert.equal(variant.format, 'jpeg');
    assert.ok(variant.bytes <= BLUESKY_IMAGE_LIMITS.maxBytes, `variant is ${variant.bytes} bytes`);
    assert.ok(Math.max(variant.width, variant.height) <= BLUESKY_IMAGE_LIMITS.maxSide);
    assert.ok(
      Math.abs(variant.width / variant.height - result.output.width / result.output.height) < 0.01,
      'aspect ratio kept',
    );

    // The post, as the PDS stores it.
    const posts = await postsOf(alice);
    assert.equal(posts.length, 1);
    const [post] = posts;
    assert.equal(post.uri, receipt.location);
    const value = post.value as {
      text: string;
      createdAt: string;
      embed: { images: { alt: string; aspectRatio: object; image: { ref: { toString(): string }; size: number } }[] };
    };
    assert.equal(value.text, 'Holiday at the lake 🏖️\n\nFilters: sepia, output');
    const { startTime } = await handle.describe();
    assert.equal(value.createdAt, startTime.toISOString(), 'dated by the run, not by the attempt');
    const [image] = value.embed.images;
    assert.equal(image.alt, 'Holiday at the lake 🏖️');
    assert.deepEqual(image.aspectRatio, { width: variant.width, height: variant.height });

    // The image blob, byte for byte the run's variant.
    const blob = await alice.agent.com.atproto.sync.getBlob({ did: alice.did, cid: image.image.ref.toString() });
    const stored = await new FileBlobStore(world.config.blobDir).get(variant.key);
    assert.equal(image.image.size, stored.length);
    assert.ok(Buffer.from(blob.data).equals(stored), 'the posted image is the variant, byte for byte');

    // Only the handle and the URI reach history; the app password never does.
    const history = JSON.stringify(await handle.fetchHistory());
    assert.ok(!history.includes(alice.settings.appPassword));
    console.log(
      `bluesky: posted ${receipt.location} in ${Date.now() - started} ms; output ${result.output.width}x${result.output.height} ` +
        `${result.output.bytes} B -> variant ${variant.width}x${variant.height} ${variant.bytes} B`,
    );

    // A second run of the same request, as the retry after a crash would send it (the input from history): no new
    // post, the receipt points at the first one.
    const scheduled = (await handle.fetchHistory()).events!.find(
      (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'shareBluesky',
    )!;
    const input = JSON.parse(
      Buffer.from(scheduled.activityTaskScheduledEventAttributes!.input!.payloads![0].data!).toString('utf8'),
    ) as ShareInput;
    const store = new FileBlobStore(world.config.blobDir);
    const again = (await new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') }).run(
      createBlueskyShare({ store, bluesky: alice.settings }).shareBluesky,
      input,
    )) as ShareReceipt;
    assert.deepEqual(
      { location: again.location, duplicate: again.duplicate },
      { location: receipt.location, duplicate: true },
    );
    assert.equal((await postsOf(alice)).length, 1, 'still one post');
  });

  it('deletes the post when another target fails for good, and the failure says so', async () => {
    const before = (await postsOf(alice)).length;
    // No webhook is configured on these workers: that target fails at once, non-retryably.
    const failure = await withWorkers(env, world.config, async () => {
      const handle = await startPhotoRun(env.client, {
        source: { path: photo },
        filters: [{ filter: 'resize', params: { width: 800 } }],
        share: ['bluesky', 'webhook'],
      });
      return handle.result().then(
        () => assert.fail('expected the run to fail'),
        (err: unknown) => err,
      );
    });
    assert.ok(failure instanceof WorkflowFailedError);
    assert.match(
      String(failure.cause?.message),
      /^sharing failed \(webhook: webhook share target is not configured.*\); the Bluesky post was removed$/,
    );
    const details = (failure.cause as ApplicationFailure).details?.[0] as { removed: string[] };
    assert.deepEqual(details.removed, ['bluesky']);
    assert.equal((await postsOf(alice)).length, before, 'the post is gone again');
  });

  it('fails at once, naming the setting, when the app password is wrong', async () => {
    const share = createBlueskyShare({
      store: new FileBlobStore(world.config.blobDir),
      bluesky: { ...alice.settings, appPassword: 'aaaa-bbbb-cccc-dddd' },
    });
    const image = { ...(await new FileBlobStore(world.config.blobDir).put(Buffer.from('x'), 'jpg')) };
    const err = await new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') })
      .run(share.shareBluesky, {
        image: { ...image, format: 'jpeg' as const, width: 10, height: 10, channels: 3 },
        idempotencyKey: 'bad-password:bluesky',
        title: 'x',
        filters: [],
        createdAt: new Date().toISOString(),
      })
      .then(
        () => assert.fail('expected a failure'),
        (e: Error) => e,
      );
    assert.ok(err instanceof ApplicationFailure && err.nonRetryable, String(err));
    assert.equal(err.type, 'BlueskyCredentials');
    assert.match(err.message, /401 AuthenticationRequired .*NANO_PHOTOS_BLUESKY_APP_PASSWORD/);
  });
});
