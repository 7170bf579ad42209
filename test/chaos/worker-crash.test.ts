import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { FileBlobStore } from '../../src/lib/blob-store';
import { startPhotoRun } from '../../src/lib/photo-runs';
import type { FilterStep } from '../../src/common/types';
import type { ProcessPhotoInput } from '../../src/common/workflow-io';
import { jpeg } from '../support/images';
import { activityRecords, Processes, timestampMs, waitForRunning } from '../support/processes';

const ALL = ['workflow', 'upload', 'filter', 'share'] as const;
const FILTERS: FilterStep[] = [
  { filter: 'resize', params: { width: 320 } },
  { filter: 'sepia' },
  { filter: 'output', params: { format: 'jpeg', quality: 80 } },
];
/** Each filter takes this long (heartbeating every second), so there is time to kill the worker mid-filter. */
const FILTER_DELAY_MS = 3_000;
/** From the workflow's filter options. */
const HEARTBEAT_TIMEOUT_MS = 5_000;
const START_TO_CLOSE_MS = 5 * 60_000;

describe('a worker process killed mid-filter', { timeout: 5 * 60_000 }, () => {
  const world = new Processes();
  let address: string;
  let client: Client;
  let input: ProcessPhotoInput;

  before(async () => {
    ({ address, client } = await world.start());
    const photo = path.join(world.dir, 'photo.jpg');
    writeFileSync(photo, await jpeg({ width: 640, height: 480 }));
    input = { source: { path: photo }, filters: FILTERS };
  });
  after(async () => {
    await world.cleanup();
  });

  it('is retried within seconds on a new worker process and produces the same bytes as an uninterrupted run', async () => {
    const worker = (filterDelayMs?: number) =>
      world.startWorker({ services: ALL, address, dataDir: world.dataDir, filterDelayMs });

    // The reference: the same input through the same pipeline, nothing interrupted.
    const calm = await worker();
    const reference = await (await startPhotoRun(client, input)).result();
    assert.deepEqual(await calm.kill('SIGTERM'), { code: 0, signal: null });

    // The crash: SIGKILL the only worker while its first filter runs.
    const doomed = await worker(FILTER_DELAY_MS);
    const handle = await startPhotoRun(client, input);
    const firstAttempt = await waitForRunning(handle, 'resize');
    assert.equal(firstAttempt.attempt, 1);
    assert.equal(firstAttempt.lastWorkerIdentity, doomed.identity);
    const killedAt = Date.now();
    assert.deepEqual(await doomed.kill('SIGKILL'), { code: null, signal: 'SIGKILL' });

    // Nothing else serves the run until a new process starts.
    const successor = await worker(FILTER_DELAY_MS);
    const result = await handle.result();

    // Identical output: same content-addressed key, same bytes.
    assert.equal(result.output.key, reference.output.key);
    assert.equal(result.output.sha256, reference.output.sha256);
    const store = new FileBlobStore(world.config().blobDir);
    assert.ok((await store.get(result.output.key)).equals(await store.get(reference.output.key)));
    assert.deepEqual(
      result.steps.map((s) => s.filter),
      ['resize', 'sepia', 'output'],
    );

    // History: resize succeeded on its second attempt, on the new process, after a heartbeat timeout of the first.
    const resize = (await activityRecords(handle)).find((a) => a.type === 'resize')!;
    assert.equal(resize.outcome, 'completed');
    assert.equal(resize.attempt, 2);
    assert.equal(resize.startedBy, successor.identity);
    assert.equal(resize.completedBy, successor.identity);
    const timeout = resize.lastFailure?.timeoutFailureInfo;
    assert.equal(
      timeout?.timeoutType,
      temporal.api.enums.v1.TimeoutType.TIMEOUT_TYPE_HEARTBEAT,
      'the first attempt ended by a heartbeat timeout',
    );

    // The retry began within seconds of the kill (heartbeat timeout + 1 s backoff), not after start-to-close.
    const retryAfterMs = resize.startedAt! - killedAt;
    console.log(
      `resize attempt 2 started ${retryAfterMs} ms after the SIGKILL (heartbeat timeout ${HEARTBEAT_TIMEOUT_MS} ms)`,
    );
    assert.ok(retryAfterMs > 0, `the retry started after the kill (${retryAfterMs} ms)`);
    assert.ok(
      retryAfterMs < 30_000,
      `the retry started ${retryAfterMs} ms after the kill; start-to-close is ${START_TO_CLOSE_MS} ms`,
    );
    // The same by the server's clock alone: first attempt's start to second attempt's start.
    const betweenStartsMs = resize.startedAt! - timestampMs(firstAttempt.lastStartedTime);
    assert.ok(betweenStartsMs < 30_000, `attempt 2 started ${betweenStartsMs} ms after attempt 1`);
  });
});
