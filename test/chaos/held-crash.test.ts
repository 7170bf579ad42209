import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { temporal } from '@temporalio/proto';
import { FileBlobStore } from '../../src/lib/blob-store';
import { startPhotoRun } from '../../src/lib/photo-runs';
import { TASK_QUEUES } from '../../src/common/task-queues';
import type { FilterStep } from '../../src/common/types';
import type { ProcessPhotoInput } from '../../src/common/workflow-io';
import { activityRecords, crashTestWorld, waitForRunning } from '../support/processes';

const FILTERS: FilterStep[] = [
  { filter: 'resize', params: { width: 320 } },
  { filter: 'sepia' },
  { filter: 'output', params: { format: 'jpeg', quality: 80 } },
];
/** Each filter takes this long (heartbeating every second), so there is time to kill the worker mid-filter. */
const FILTER_DELAY_MS = 3_000;

/**
 * Runs with `intermediates: 'memory'` keep each step's result only in the filter worker that made it. Killing that
 * worker loses the image: the run must still end with the very bytes of an uninterrupted run.
 */
describe('the filter worker holding a run’s intermediate, killed', { timeout: 5 * 60_000 }, () => {
  const context = crashTestWorld();

  it('costs a retry on the other filter worker, which makes the image again: the same output bytes', async () => {
    const { world, address, client } = context;
    const input: ProcessPhotoInput = { source: { path: context.photo }, filters: FILTERS, intermediates: 'memory' };
    const { result: reference, bytes: referenceBytes } = await world.uninterruptedRun(address, client, input);

    // Two filter worker processes; the others elsewhere.
    const common = { address, dataDir: world.dataDir, filterDelayMs: FILTER_DELAY_MS };
    await world.startWorker({ ...common, services: ['workflow', 'upload', 'share'] });
    const filterWorkers = await Promise.all(
      ['filter-a', 'filter-b'].map((name) => world.startWorker({ ...common, services: ['filter'], name })),
    );
    const handle = await startPhotoRun(client, input);
    // sepia runs on the worker that made (and holds) the resized image: kill it mid-sepia.
    const sepia = await waitForRunning(handle, 'sepia');
    const holder = filterWorkers.find((w) => w.identity === sepia.lastWorkerIdentity)!;
    const survivor = filterWorkers.find((w) => w !== holder)!;
    assert.ok(holder, `sepia runs on one of the filter workers (${sepia.lastWorkerIdentity})`);
    assert.deepEqual(await holder.kill('SIGKILL'), { code: null, signal: 'SIGKILL' });

    const result = await handle.result();
    const output = await new FileBlobStore(world.config().blobDir).get(result.output.key);
    assert.equal(result.output.key, reference.output.key);
    assert.ok(output.equals(referenceBytes), 'byte-identical to the uninterrupted run');

    // History: resize and the first sepia on the holder; sepia waited on the holder's queue, then ran on the
    // survivor's shared queue, which made the resized image again; the output on the survivor's own queue.
    const history = await handle.fetchHistory();
    const queues = history
      .events!.flatMap((e) => {
        const a = e.activityTaskScheduledEventAttributes;
        return a ? [`${a.activityType!.name}@${a.taskQueue!.name}`] : [];
      })
      .map((q) => q.replace(/-held-.*$/, '-held'));
    assert.deepEqual(queues, [
      'upload@photos-upload',
      `resize@${TASK_QUEUES.filter}`,
      `sepia@${TASK_QUEUES.filter}-held`,
      `sepia@${TASK_QUEUES.filter}`,
      `output@${TASK_QUEUES.filter}-held`,
    ]);
    const records = await activityRecords(handle);
    const [resize, lost, sepiaAgain, out] = records.slice(1);
    assert.equal(resize.completedBy, holder.identity);
    assert.equal(lost.outcome, 'timed-out');
    const lostTimeout = history.events!.find((e) => e.activityTaskTimedOutEventAttributes)!
      .activityTaskTimedOutEventAttributes!.failure?.timeoutFailureInfo?.timeoutType;
    assert.equal(lostTimeout, temporal.api.enums.v1.TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START);
    assert.equal(sepiaAgain.completedBy, survivor.identity);
    assert.equal(out.completedBy, survivor.identity);
  });
});
