import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CancelledFailure } from '@temporalio/common';
import { createFilterActivities } from '../../activities/filters/activities';
import { filterNames, type FilterName } from '../../src/common/filter-catalog';
import type { ImageRef } from '../../src/common/types';
import { countBlobs, newEnv, run, sources, store } from '../support/filter-harness';

/*
 * Every filter stores its result under the hash of its content, so a retry stores nothing new, and heartbeats while
 * it works past a second: how Temporal notices a worker that died mid-filter, and how a cancellation reaches the
 * activity.
 */

describe('content addressing and heartbeats', () => {
  it('the same input twice gives the same output key, for every filter', async () => {
    const params: Partial<Record<FilterName, Record<string, unknown>>> = {
      resize: { width: 20 },
      crop: { width: 10, height: 10 },
      rotate: { angle: 30 },
      tint: { color: '#336699' },
      watermark: { text: 'twice' },
      thumbnail: { size: 16 },
      output: { format: 'webp' },
    };
    for (const filter of filterNames) {
      const first = await run(filter, sources['JPEG original'], params[filter]);
      const blobs = await countBlobs();
      const second = await run(filter, sources['JPEG original'], params[filter]);
      assert.equal(second.key, first.key, `${filter} is deterministic`);
      assert.deepEqual(second, first);
      assert.equal(await countBlobs(), blobs, `${filter}: the retry stored nothing new`);
    }
  });

  it('different inputs give different keys', async () => {
    const a = await run('blur', sources['PNG original'], { sigma: 1 });
    const b = await run('blur', sources['PNG original'], { sigma: 2 });
    assert.notEqual(a.key, b.key);
  });

  it('a quick filter sends no heartbeat: the server times the heartbeat timeout from its start', async () => {
    const env = newEnv();
    const beats: unknown[] = [];
    env.on('heartbeat', (details: unknown) => beats.push(details));
    await run('flip', sources['PNG original'], undefined, env);
    assert.deepEqual(beats, []);
  });

  it('every filter that runs past a second heartbeats, naming itself, until it is done', async () => {
    const params: Partial<Record<FilterName, Record<string, unknown>>> = {
      resize: { width: 20 },
      crop: { width: 10, height: 10 },
      rotate: { angle: 90 },
      tint: { color: '#336699' },
      watermark: { text: 'beat' },
    };
    // Slowed like the crash demos' workers (NANO_PHOTOS_FILTER_DELAY_MS), all filters at once.
    const slow = createFilterActivities({ store, delayMs: 2_300 });
    await Promise.all(
      filterNames.map(async (filter) => {
        const env = newEnv();
        const beats: unknown[] = [];
        env.on('heartbeat', (details: unknown) => beats.push(details));
        const out: ImageRef = await env.run(slow[filter], { image: sources['PNG original'], params: params[filter] });
        assert.equal(out.key, (await run(filter, sources['PNG original'], params[filter])).key);
        assert.ok(beats.length >= 2, `${filter}: expected a heartbeat every second, got ${beats.length}`);
        for (const beat of beats) assert.deepEqual(beat, { filter });
      }),
    );
  });

  it('a slow filter stops when the activity is cancelled', async () => {
    const slow = createFilterActivities({ store, delayMs: 60_000 });
    const env = newEnv();
    const started = Date.now();
    const result = env.run(slow.flip, { image: sources['PNG original'] });
    setTimeout(() => env.cancel(), 100);
    await assert.rejects(result, (err: unknown) => err instanceof CancelledFailure);
    assert.ok(Date.now() - started < 5_000, 'ended early');
  });
});
