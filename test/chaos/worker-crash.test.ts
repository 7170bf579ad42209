import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { msToNumber } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import { FileBlobStore, sha256 } from '../../src/lib/blob-store';
import { startPhotoRun } from '../../src/lib/photo-runs';
import type { FilterStep } from '../../src/common/types';
import type { ProcessPhotoInput } from '../../src/common/workflow-io';
import { filterOptions } from '../../workflows/activity-options';
import { activityRecords, crashTestWorld, timestampMs, waitForRunning } from '../support/processes';
import { SERVICE_NAMES } from '../../src/common/task-queues';

const FILTERS: FilterStep[] = [
  { filter: 'resize', params: { width: 320 } },
  { filter: 'sepia' },
  { filter: 'output', params: { format: 'jpeg', quality: 80 } },
];
/** Each filter takes this long (heartbeating every second), so there is time to kill the worker mid-filter. */
const FILTER_DELAY_MS = 3_000;
const HEARTBEAT_TIMEOUT_MS = msToNumber(filterOptions.heartbeatTimeout!);
const START_TO_CLOSE_MS = msToNumber(filterOptions.startToCloseTimeout!);

describe('a worker process killed mid-filter', { timeout: 5 * 60_000 }, () => {
  const context = crashTestWorld();

  it('is retried within seconds on a new worker process and produces the same bytes as an uninterrupted run', async () => {
    const { world, address, client } = context;
    const input: ProcessPhotoInput = { source: { path: context.photo }, filters: FILTERS };
    const worker = (filterDelayMs?: number) =>
      world.startWorker({ services: SERVICE_NAMES, address, dataDir: world.dataDir, filterDelayMs });

    const { result: reference, bytes: referenceBytes } = await world.uninterruptedRun(address, client, input);
    assert.equal(existsSync(world.config().blobDir), false, 'the crash run starts from an empty store');

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

    // Identical output: same content-addressed key, and the bytes the crash run stored equal the reference's.
    assert.equal(result.output.key, reference.output.key);
    const output = await new FileBlobStore(world.config().blobDir).get(result.output.key);
    assert.ok(output.equals(referenceBytes), 'byte-identical to the uninterrupted run');
    assert.equal(sha256(output), result.output.sha256);
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
