import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { applyChainInProcess } from '../../src/bench/monolith-chain';
import { processMemory } from '../../src/bench/procfs';
import { WORKER_RSS_TARGET_MB } from '../../src/bench/report';
import { WORKLOAD_FILTERS, WORKLOAD_SHARE } from '../../src/bench/workload';
import { SERVICE_NAMES } from '../../src/common/task-queues';
import { FileBlobStore } from '../../src/lib/blob-store';
import { startPhotoRun } from '../../src/lib/photo-runs';
import { DEFAULT_CONCURRENCY } from '../../src/lib/workers';
import { activityRecords, Processes, type WorkerProcess } from '../support/processes';
import { largestPhoto, photoCrops, type Photo } from '../support/real-photos';

/**
 * Real photographs at full size, all at once, on worker processes at their default concurrency (one per service
 * group, as docker-compose runs them): the benchmark's job (resize to 2048 wide, sepia, sharpen, watermark, JPEG,
 * gallery) on 40 different 12–18 MP photographs. Under that saturation no heartbeat may time out and nothing may be
 * retried, every output must be byte for byte the same chain applied in process to its own photo, and every worker
 * process must stay under the memory target.
 */

const RUNS = 40;
const MB = 2 ** 20;
const { EventType } = temporal.api.enums.v1;
/** Events that would mean something timed out or failed and was retried. */
const TROUBLE = new Set([
  EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT,
  EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED,
  EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT,
  EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED,
]);

/** The most intervals open at any one time. */
function maxOverlap(intervals: { start: number; end: number }[]): number {
  const edges = intervals.flatMap((i) => [
    { at: i.start, d: 1 },
    { at: i.end, d: -1 },
  ]);
  edges.sort((a, b) => a.at - b.at || a.d - b.d);
  let open = 0;
  let most = 0;
  for (const e of edges) most = Math.max(most, (open += e.d));
  return most;
}

describe(`${RUNS} runs of 12–18 MP photographs at once, default worker concurrency`, { timeout: 8 * 60_000 }, () => {
  const world = new Processes();
  let address: string;
  let client: Client;
  let photos: Photo[];
  let references: Buffer[];

  before(async () => {
    ({ address, client } = await world.start());
    photos = await photoCrops(await largestPhoto(), RUNS, world.dir);
    // The in-process references, two at a time (the machine has two cores).
    references = [];
    for (let i = 0; i < RUNS; i += 2) {
      references.push(
        ...(await Promise.all(
          photos.slice(i, i + 2).map((p) => applyChainInProcess(readFileSync(p.file), WORKLOAD_FILTERS)),
        )),
      );
    }
  });
  after(async () => {
    await world.cleanup();
  });

  it('completes every run on its first attempts, each output identical to its reference, within the memory target', async () => {
    for (const p of photos) {
      const mp = (p.width * p.height) / 1e6;
      assert.ok(mp >= 12 && mp <= 18, `${p.file}: ${mp.toFixed(2)} MP`);
    }
    // As `npm run worker` starts them (its allocator settings), one process per service group, default concurrency.
    const workers: WorkerProcess[] = [];
    for (const service of SERVICE_NAMES) {
      workers.push(
        await world.startWorker({
          services: [service],
          address,
          dataDir: world.dataDir,
          name: service,
          env: { MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '1048576' },
        }),
      );
    }

    const started = Date.now();
    const handles = await Promise.all(
      photos.map((p) =>
        startPhotoRun(client, { source: { path: p.file }, filters: WORKLOAD_FILTERS, share: WORKLOAD_SHARE }),
      ),
    );
    const results = await Promise.all(handles.map((h) => h.result()));
    const wallMs = Date.now() - started;
    // The kernel's high-water mark of each process's resident memory: its true peak, not a sample.
    const peaks = workers.map((w) => ({ name: w.name, peak: processMemory(w.pid).hwm }));
    for (const w of workers) assert.ok(w.running(), `${w.name} still runs:\n${w.output()}`);

    // Every output is the chain applied to its own photo, byte for byte.
    const store = new FileBlobStore(world.config().blobDir);
    for (const [i, result] of results.entries()) {
      const output = await store.get(result.output.key);
      assert.ok(output.equals(references[i]), `${handles[i].workflowId}: output equals its in-process reference`);
    }
    assert.equal(new Set(results.map((r) => r.output.key)).size, RUNS, 'every photo made its own output');

    // Nothing timed out, failed or was retried: every activity completed on its first attempt.
    const filterSpans: { start: number; end: number }[] = [];
    for (const handle of handles) {
      const records = await activityRecords(handle);
      assert.deepEqual(
        records.map((a) => `${a.type}:${a.outcome}:${a.attempt}`),
        ['upload', ...WORKLOAD_FILTERS.map((s) => s.filter), 'shareGallery', 'deleteScratch'].map(
          (t) => `${t}:completed:1`,
        ),
        handle.workflowId,
      );
      for (const a of records.filter((r) => WORKLOAD_FILTERS.some((s) => s.filter === r.type)))
        filterSpans.push({ start: a.startedAt!, end: a.completedAt! });
      const trouble = ((await handle.fetchHistory()).events ?? []).filter((e) => TROUBLE.has(e.eventType!));
      assert.deepEqual(
        trouble.map((e) => EventType[e.eventType!]),
        [],
        `${handle.workflowId}: no task timed out or failed`,
      );
    }

    const concurrent = maxOverlap(filterSpans);
    console.log(
      `${RUNS} runs of ${photos.length} photographs (12–18 MP): ${(wallMs / 1000).toFixed(1)} s; at most ${concurrent} ` +
        `filter activities at once (concurrency ${DEFAULT_CONCURRENCY.filter}); peak RSS ` +
        peaks.map((p) => `${p.name} ${Math.round(p.peak / MB)} MB`).join(', ') +
        ` (target ${WORKER_RSS_TARGET_MB} MB each)`,
    );
    assert.equal(concurrent, DEFAULT_CONCURRENCY.filter, 'the filter worker ran at its full concurrency: saturated');
    for (const { name, peak } of peaks) {
      assert.ok(
        peak <= WORKER_RSS_TARGET_MB * MB,
        `${name} worker peaked at ${Math.round(peak / MB)} MB; the target is ${WORKER_RSS_TARGET_MB} MB`,
      );
    }
  });
});
