import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@temporalio/client';
import type { Cluster } from '../../src/cluster/cluster';
import { sha256 } from '../../src/lib/blob-store';
import { startPhotoRun } from '../../src/lib/photo-runs';
import { assertEachRunCompletedOnce, startTestCluster } from '../support/cluster';
import { png } from '../support/images';
import { Processes } from '../support/processes';

const RUNS = 300;
const WORKER_PROCESSES = 2;

describe(
  `${RUNS} runs in flight on the cluster, ${WORKER_PROCESSES} worker processes`,
  { timeout: 20 * 60_000 },
  () => {
    const world = new Processes();
    let cluster: Cluster;
    let client: Client;
    let stopCluster: () => Promise<void>;

    before(async () => {
      ({ cluster, client, stop: stopCluster } = await startTestCluster(world));
    });
    after(async () => {
      // The cluster first, while its folder still exists; then the workers and the folder.
      try {
        await stopCluster?.();
      } finally {
        await world.cleanup();
      }
    });

    it('completes every run, each with its own photo, each shared once', async () => {
      const photos = await Promise.all(
        Array.from({ length: RUNS }, async (_, i) => {
          const file = path.join(world.dir, `photo-${i}.png`);
          const bytes = await png({ width: 48, height: 48 });
          writeFileSync(file, bytes);
          return { file, sha256: sha256(bytes) };
        }),
      );
      assert.equal(new Set(photos.map((p) => p.sha256)).size, RUNS, 'the generated images all differ');
      const workers = await world.startWorkers(WORKER_PROCESSES, { address: cluster.address, dataDir: world.dataDir });

      const started = Date.now();
      const handles = await Promise.all(
        photos.map((p) =>
          startPhotoRun(client, {
            source: { path: p.file },
            filters: [
              { filter: 'resize', params: { width: 24 } },
              { filter: 'output', params: { format: 'webp', quality: 90 } },
            ],
            share: ['gallery'],
          }),
        ),
      );
      const results = await Promise.all(handles.map((h) => h.result()));
      const seconds = (Date.now() - started) / 1000;
      console.log(`${RUNS} runs on the cluster: ${seconds.toFixed(1)} s (${(RUNS / seconds).toFixed(1)} runs/s)`);

      assert.deepEqual(
        results.map((r) => r.original.sha256),
        photos.map((p) => p.sha256),
        'each run processed its own photo',
      );
      for (const r of results) assert.deepEqual([r.output.format, r.output.width], ['webp', 24]);
      await assertEachRunCompletedOnce(handles, world.config().galleryDir, [
        'upload',
        'resize',
        'output',
        'shareGallery',
        'deleteScratch',
      ]);
      for (const w of workers) assert.ok(w.running(), `${w.name} still runs`);
    });
  },
);
