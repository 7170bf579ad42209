import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@temporalio/client';
import { startPhotoRun } from '../../src/lib/photo-runs';
import type { ServiceName } from '../../src/common/task-queues';
import { jpeg } from '../support/images';
import { assertCompletedAfterTimeout, Processes, waitFor } from '../support/processes';
import { startBlueskyNetwork, type BlueskyAccount, type BlueskyNetwork } from '../../src/lib/bluesky-network';

describe('the share worker killed after the PDS stored the post', { timeout: 5 * 60_000 }, () => {
  const world = new Processes();
  let address: string;
  let client: Client;
  let network: BlueskyNetwork;
  let bob: BlueskyAccount;

  before(async () => {
    [{ address, client }, network] = await Promise.all([world.start(), startBlueskyNetwork()]);
    bob = await network.createAccount('bob');
  });
  after(async () => {
    await world.cleanup();
    await network?.stop();
  });

  it('is retried by a new share worker, which finds the post: one post, no second', async () => {
    const photo = path.join(world.dir, 'photo.jpg');
    writeFileSync(photo, await jpeg({ width: 640, height: 480 }));
    const bluesky = {
      NANO_PHOTOS_BLUESKY_SERVICE: bob.settings.service,
      NANO_PHOTOS_BLUESKY_HANDLE: bob.settings.handle,
      NANO_PHOTOS_BLUESKY_APP_PASSWORD: bob.settings.appPassword,
    };
    const start = (services: ServiceName[], env: Record<string, string> = bluesky) =>
      world.startWorker({ services, address, dataDir: world.dataDir, env });
    await start(['workflow', 'upload', 'filter']);
    // This one kills itself (SIGKILL) right after putRecord succeeded, before the activity can complete.
    const doomed = await start(['share'], { ...bluesky, NANO_PHOTOS_TEST_KILL_AFTER_BLUESKY_POST: '1' });

    const handle = await startPhotoRun(
      client,
      { source: { path: photo }, filters: [{ filter: 'grayscale' }], share: ['bluesky'], title: 'crash test' },
      `bluesky-crash-${Date.now()}`,
    );
    await waitFor('the share worker to die after posting', () => !doomed.running(), { timeoutMs: 90_000 });
    assert.equal(
      doomed.process.signalCode,
      'SIGKILL',
      `killed by its hook, not by something else:\n${doomed.output()}`,
    );
    const { data: afterCrash } = await bob.agent.com.atproto.repo.listRecords({
      repo: bob.did,
      collection: 'app.bsky.feed.post',
    });
    assert.equal(afterCrash.records.length, 1, 'the PDS had stored the post when the worker died');
    const successor = await start(['share']);

    const result = await handle.result();
    const [receipt] = result.shares;
    assert.equal(receipt.duplicate, true, 'the retry found the post the killed attempt made');
    assert.equal(receipt.location, afterCrash.records[0].uri);
    const { data } = await bob.agent.com.atproto.repo.listRecords({ repo: bob.did, collection: 'app.bsky.feed.post' });
    assert.equal(data.records.length, 1, 'exactly one post');

    // History: completed on a later attempt, by the new process, after the first timed out.
    const share = await assertCompletedAfterTimeout(handle, 'shareBluesky', successor);
    console.log(`bluesky: 1 post after the crash, completed on attempt ${share.attempt} as a duplicate`);
  });
});
