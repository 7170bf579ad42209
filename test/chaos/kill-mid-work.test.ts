import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { applyChainInProcess } from '../../src/bench/monolith-chain';
import { processCpuSeconds } from '../../src/bench/procfs';
import type { FilterStep } from '../../src/common/types';
import { FileBlobStore, sha256 } from '../../src/lib/blob-store';
import { loadConfig } from '../../src/lib/config';
import { startPhotoRun } from '../../src/lib/photo-runs';
import { markerFile, type MarkerPoint } from '../../src/lib/test-markers';
import { largestPhoto, type Photo } from '../support/real-photos';
import { activityRecords, Processes, waitFor, type WorkerProcess } from '../support/processes';

/**
 * SIGKILL lands in the middle of real image work, not in a sleep: while sharp encodes a large output, and while
 * the blob store writes it. The filter worker runs with test markers (src/lib/test-markers.ts), so the test knows
 * where it is when the signal goes out and can show, afterwards, which points it never reached.
 */

/** Decode a ~18 MP photograph and encode it as PNG: about 50 MB, seconds of libvips work. */
const CHAIN: FilterStep[] = [{ filter: 'output', params: { format: 'png' } }];
const OTHERS = ['workflow', 'upload', 'share'] as const;
/** The whole encode takes about 1.5 s of CPU on this photo; the kill comes after this much of it. */
const ENCODE_CPU_BEFORE_KILL_S = 0.3;

interface Marker {
  point: MarkerPoint;
  pid: number;
  at: number;
  partial?: string;
  written?: number;
  bytes?: number;
}

const megapixels = (p: Photo) => ((p.width * p.height) / 1e6).toFixed(1);

function readMarker(dir: string, point: MarkerPoint, pid: number): Marker | undefined {
  const file = markerFile(dir, point, pid);
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Marker) : undefined;
}

/** Every file under the blob folder, by path relative to it. */
function storeFiles(blobDir: string): string[] {
  if (!existsSync(blobDir)) return [];
  return readdirSync(blobDir, { recursive: true, encoding: 'utf8' }).filter((f) =>
    statSync(path.join(blobDir, f)).isFile(),
  );
}

describe('a filter worker SIGKILLed in the middle of image work', { timeout: 5 * 60_000 }, () => {
  const world = new Processes();
  let address: string;
  let client: Client;
  let photo: Photo;
  /** The photo in the workers' own upload root (the test's folder), where a `path` source may be read. */
  let local: string;
  let reference: Buffer;

  before(async () => {
    ({ address, client } = await world.start());
    photo = await largestPhoto();
    local = path.join(world.dir, path.basename(photo.file));
    copyFileSync(photo.file, local);
    // The independent reference: the same chain in this process, no Temporal, no store.
    reference = await applyChainInProcess(readFileSync(photo.file), CHAIN);
  });
  after(async () => {
    await world.cleanup();
  });

  /**
   * One run with its own data folder: every service up, the filter worker with markers (and told where to hold).
   * `killAt` waits for the moment and returns what the markers said when the signal went out.
   */
  async function crashRun(
    name: string,
    holdAt: MarkerPoint | undefined,
    killAt: (doomed: WorkerProcess, markers: string) => Promise<Marker>,
  ) {
    const dataDir = path.join(world.dir, `data-${name}`);
    const markers = path.join(world.dir, `markers-${name}`);
    mkdirSync(markers, { recursive: true });
    const blobDir = loadConfig({ NANO_PHOTOS_DATA_DIR: dataDir }).blobDir;
    const others = await world.startWorker({ services: OTHERS, address, dataDir });
    const doomed = await world.startWorker({
      services: ['filter'],
      address,
      dataDir,
      name: `filter (markers${holdAt ? `, hold at ${holdAt}` : ''})`,
      env: { NANO_PHOTOS_TEST_MARKER_DIR: markers, ...(holdAt ? { NANO_PHOTOS_TEST_HOLD_AT: holdAt } : {}) },
    });
    const handle = await startPhotoRun(
      client,
      { source: { path: local }, filters: CHAIN },
      `kill-${name}-${Date.now()}`,
    );
    const marker = await killAt(doomed, markers);
    const killedAt = Date.now();
    assert.deepEqual(await doomed.kill('SIGKILL'), { code: null, signal: 'SIGKILL' });
    const killed = { marker, killedAt, markers, blobDir, pid: doomed.pid, filesAtKill: storeFiles(blobDir) };

    const successor = await world.startWorker({ services: ['filter'], address, dataDir });
    const result = await handle.result();
    await Promise.all([others, successor].map((w) => w.kill('SIGTERM')));

    // The run completed with the independent reference's bytes, on the retry, after a heartbeat timeout.
    const output = await new FileBlobStore(blobDir).get(result.output.key);
    assert.ok(output.equals(reference), `the output equals the in-process reference (${output.length} bytes)`);
    assert.deepEqual(
      [result.output.format, result.output.width, result.output.height],
      ['png', photo.width, photo.height],
    );
    const step = (await activityRecords(handle)).find((a) => a.type === 'output')!;
    assert.equal(step.outcome, 'completed');
    assert.equal(step.attempt, 2);
    assert.equal(step.completedBy, successor.identity);
    assert.equal(
      step.lastFailure?.timeoutFailureInfo?.timeoutType,
      temporal.api.enums.v1.TimeoutType.TIMEOUT_TYPE_HEARTBEAT,
    );

    // The store: nothing partial left, and every blob under a final key is whole (its bytes hash to its key).
    const files = storeFiles(blobDir);
    assert.deepEqual(
      files.filter((f) => f.endsWith('.partial')),
      [],
      'no leftovers',
    );
    for (const f of files) {
      const key = path.basename(f);
      assert.equal(
        sha256(readFileSync(path.join(blobDir, f))),
        key.split('.')[0],
        `${key} holds the bytes its key names`,
      );
    }
    return { ...killed, files, result };
  }

  it('while sharp encodes the output: nothing stored, the retry encodes it again', async () => {
    let cpuIntoEncode = 0;
    const { marker, killedAt, markers, pid, filesAtKill } = await crashRun(
      'encoding',
      undefined,
      async (doomed, dir) => {
        const started = await waitFor(
          'the filter worker to start encoding',
          () => readMarker(dir, 'encode-start', doomed.pid),
          {
            everyMs: 20,
          },
        );
        // Not a sleep: wait until the process has spent CPU on the encode (it runs nothing else), so the signal lands
        // well inside libvips' work rather than at its first instruction.
        const cpuAtStart = processCpuSeconds(doomed.pid);
        await waitFor(
          `${ENCODE_CPU_BEFORE_KILL_S} s of CPU spent encoding`,
          () => processCpuSeconds(doomed.pid) - cpuAtStart >= ENCODE_CPU_BEFORE_KILL_S,
          { everyMs: 10 },
        );
        cpuIntoEncode = processCpuSeconds(doomed.pid) - cpuAtStart;
        return started;
      },
    );
    // The encode had begun and had not finished when the process died.
    assert.equal(readMarker(markers, 'encode-end', pid), undefined, 'the kill landed before the encode finished');
    assert.equal(readMarker(markers, 'store-write', pid), undefined, 'nothing was being written');
    assert.deepEqual(
      filesAtKill.filter((f) => f.includes('.png')),
      [],
      'no output in the store yet',
    );
    console.log(
      `SIGKILL ${killedAt - marker.at} ms (${Math.round(cpuIntoEncode * 1000)} ms of CPU) into encoding a ` +
        `${megapixels(photo)} MP photo as PNG (pid ${pid})`,
    );
  });

  it('while the store writes the output: a half-written partial, never a final key; the retry sweeps it away', async () => {
    const { marker, killedAt, markers, pid, filesAtKill, files, result } = await crashRun(
      'writing',
      'store-write',
      async (doomed, dir) => {
        const held = await waitFor('the store to be half way through writing the output', () => {
          const m = readMarker(dir, 'store-write', doomed.pid);
          return m?.partial?.includes('.png.') ? m : undefined;
        });
        // Where the process is now: half the output's bytes in its partial file, nothing under the final key.
        assert.equal(statSync(held.partial!).size, held.written);
        assert.ok(held.written! > 0 && held.written! < held.bytes!, `${held.written} of ${held.bytes} bytes`);
        return held;
      },
    );
    assert.ok(readMarker(markers, 'encode-end', pid), 'the encode had finished: this kill is in the write');
    const partial = path.basename(marker.partial!);
    const finalKey = partial.slice(0, partial.indexOf('.png.') + '.png'.length);
    assert.equal(finalKey, result.output.key, 'it was writing the output blob');
    const atKill = filesAtKill.filter((f) => f.includes('.png'));
    assert.deepEqual(
      atKill.map((f) => path.basename(f)),
      [partial],
      'at the kill: the partial file only, no final key',
    );
    assert.ok(!files.some((f) => path.basename(f) === partial), 'the retry swept the dead write away');
    console.log(
      `SIGKILL with ${marker.written} of ${marker.bytes} bytes written (${killedAt - marker.at} ms after the marker, pid ${pid})`,
    );
  });
});
