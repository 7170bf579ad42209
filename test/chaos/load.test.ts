import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@temporalio/client';
import sharp from 'sharp';
import { applyChainInProcess } from '../../src/bench/monolith-chain';
import { FileBlobStore, sha256 } from '../../src/lib/blob-store';
import type { FilterStep } from '../../src/common/types';
import { startPhotoRun } from '../../src/lib/photo-runs';
import type { GalleryEntry } from '../../activities/share/gallery-page';
import { png } from '../support/images';
import { activityRecords, Processes, waitFor } from '../support/processes';

const RUNS = 200;
const FILTERS: FilterStep[] = [
  { filter: 'resize', params: { width: 32 } },
  { filter: 'output', params: { format: 'webp', quality: 90 } },
];
const WORKER_PROCESSES = 2;

describe(`${RUNS} runs at once on ${WORKER_PROCESSES} worker processes`, { timeout: 15 * 60_000 }, () => {
  const world = new Processes();
  let address: string;
  let client: Client;

  before(async () => {
    ({ address, client } = await world.start());
  });
  after(async () => {
    await world.cleanup();
  });

  it('completes every run exactly once, each with its own correct result', async () => {
    // Distinct noisy 64x64 images: every run has its own content, so a mix-up or a lost run shows.
    const photos = await Promise.all(
      Array.from({ length: RUNS }, async (_, i) => {
        const file = path.join(world.dir, `photo-${String(i).padStart(3, '0')}.png`);
        const bytes = await png({ width: 64, height: 64 });
        writeFileSync(file, bytes);
        return { file, bytes, sha256: sha256(bytes) };
      }),
    );
    assert.equal(new Set(photos.map((p) => p.sha256)).size, RUNS, 'the generated images all differ');

    const workers = await world.startWorkers(WORKER_PROCESSES, { address, dataDir: world.dataDir });

    const started = Date.now();
    const handles = await Promise.all(
      photos.map((p) =>
        startPhotoRun(client, {
          source: { path: p.file },
          filters: FILTERS,
          share: ['gallery'],
        }),
      ),
    );
    const results = await Promise.all(handles.map((h) => h.result()));
    const wallMs = Date.now() - started;
    console.log(
      `${RUNS} runs on ${WORKER_PROCESSES} worker processes: ${(wallMs / 1000).toFixed(1)} s wall time (${(RUNS / (wallMs / 1000)).toFixed(1)} runs/s)`,
    );

    // Every run is its own workflow execution, completed, and the server knows of exactly these.
    const ids = handles.map((h) => h.workflowId);
    assert.equal(new Set(ids).size, RUNS, 'unique workflow ids');
    const listed = await waitFor('visibility to list every run as completed', async () => {
      const executions: { id: string; status: string }[] = [];
      for await (const e of client.workflow.list({ query: `WorkflowType = 'processPhoto'` })) {
        executions.push({ id: e.workflowId, status: e.status.name });
      }
      return executions.length === RUNS && executions.every((e) => e.status === 'COMPLETED') ? executions : undefined;
    });
    assert.deepEqual(listed.map((e) => e.id).sort(), [...ids].sort());

    // Each run processed its own photo, once, and made an output of its own.
    assert.deepEqual(
      results.map((r) => r.original.sha256),
      photos.map((p) => p.sha256),
    );
    assert.equal(new Set(results.map((r) => r.output.key)).size, RUNS, 'every output differs');

    const store = new FileBlobStore(world.config().blobDir);
    const galleryDir = world.config().galleryDir;
    const entries = readdirSync(galleryDir)
      .filter((f) => f.endsWith('.json'))
      .map((f) => JSON.parse(readFileSync(path.join(galleryDir, f), 'utf8')) as GalleryEntry);
    assert.equal(entries.length, RUNS, 'one gallery entry per run, no more');
    const page = readFileSync(path.join(galleryDir, 'index.html'), 'utf8');

    for (const [i, result] of results.entries()) {
      const id = ids[i];
      assert.deepEqual([result.original.format, result.original.width, result.original.height], ['png', 64, 64], id);
      assert.deepEqual(
        result.steps.map((s) => s.filter),
        ['resize', 'output'],
        id,
      );
      assert.deepEqual([result.output.format, result.output.width, result.output.height], ['webp', 32, 32], id);
      const output = await store.get(result.output.key);
      assert.equal(sha256(output), result.output.sha256, id);
      const meta = await sharp(output).metadata();
      assert.deepEqual([meta.format, meta.width, meta.height], ['webp', 32, 32], id);
      // The right function of its own input: byte for byte what the same chain makes of this run's photo in process.
      const reference = await applyChainInProcess(photos[i].bytes, FILTERS);
      assert.ok(output.equals(reference), `${id}: the output is the chain applied to its own photo`);

      const mine = entries.filter((e) => e.idempotencyKey === `${id}:gallery`);
      assert.equal(mine.length, 1, `${id}: one gallery entry`);
      assert.equal(mine[0].sha256, result.output.sha256, id);
      assert.ok(
        readFileSync(path.join(galleryDir, mine[0].file)).equals(output),
        `${id}: the gallery holds the output`,
      );
      assert.equal(
        page.split(`<img src="${encodeURIComponent(mine[0].file)}"`).length - 1,
        1,
        `${id}: listed once on the page`,
      );
      const [receipt] = result.shares;
      assert.equal(receipt.location, path.join(galleryDir, mine[0].file), id);
    }

    // No step ran twice to completion within any run, and both processes did work.
    const doneBy = new Map<string, number>();
    const retried = new Map<string, number>();
    for (const handle of handles) {
      const records = await activityRecords(handle);
      assert.deepEqual(
        records.map((a) => `${a.type}:${a.outcome}`),
        [
          'upload:completed',
          'resize:completed',
          'output:completed',
          'shareGallery:completed',
          'deleteScratch:completed',
        ],
        handle.workflowId,
      );
      for (const r of records) {
        doneBy.set(r.completedBy!, (doneBy.get(r.completedBy!) ?? 0) + 1);
        if (r.attempt! > 1) retried.set(r.type, (retried.get(r.type) ?? 0) + 1);
      }
    }
    for (const worker of workers) {
      assert.ok(worker.running(), `${worker.name} still runs`);
      assert.ok((doneBy.get(worker.identity) ?? 0) > 0, `${worker.name} completed activities`);
    }
    console.log(
      `activities completed per worker process: ${workers.map((w) => `${w.name} ${doneBy.get(w.identity) ?? 0}`).join(', ')}; ` +
        `completed on a retry: ${[...retried].map(([type, n]) => `${type} ${n}`).join(', ') || 'none'}`,
    );
  });
});
