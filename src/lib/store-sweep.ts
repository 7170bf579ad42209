import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import { SWEEP_EVERY, SWEEP_SCHEDULE_ID, type SweepStoreInput, type SweepSummary } from '../common/retention';
import { TASK_QUEUES } from '../common/task-queues';
import { sweepStore } from '../../workflows/sweep-store';

/**
 * The Schedule that runs the store's sweep every SWEEP_EVERY, made idempotently: created if missing, its retention
 * brought up to date if the setting changed, otherwise left as it is. Workers hosting the workflow service call it at
 * start, as does `npm run photo -- sweep --schedule`.
 */
export async function ensureSweepSchedule(
  client: Client,
  retentionMs: number,
): Promise<'created' | 'updated' | 'unchanged'> {
  const input: SweepStoreInput = { retentionMs };
  const action = {
    type: 'startWorkflow' as const,
    workflowType: sweepStore,
    args: [input] as [SweepStoreInput],
    taskQueue: TASK_QUEUES.workflow,
    workflowId: SWEEP_SCHEDULE_ID,
  };
  try {
    await client.schedule.create({
      scheduleId: SWEEP_SCHEDULE_ID,
      spec: { intervals: [{ every: SWEEP_EVERY }] },
      action,
      // A sweep still going when the next is due (a huge store) is not doubled.
      policies: { overlap: ScheduleOverlapPolicy.SKIP },
    });
    return 'created';
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
  }
  const handle = client.schedule.getHandle(SWEEP_SCHEDULE_ID);
  const { action: current } = await handle.describe();
  if ((current.args?.[0] as SweepStoreInput | undefined)?.retentionMs === retentionMs) return 'unchanged';
  await handle.update((previous) => ({ ...previous, action }));
  return 'updated';
}

/** Runs the sweep now, with this process's retention, and waits for its summary. */
export async function sweepNow(client: Client, retentionMs: number): Promise<SweepSummary> {
  return client.workflow.execute(sweepStore, {
    taskQueue: TASK_QUEUES.workflow,
    workflowId: `${SWEEP_SCHEDULE_ID}-now-${Date.now().toString(36)}`,
    args: [{ retentionMs }],
  });
}

const mb = (bytes: number) => `${(bytes / 1_048_576).toFixed(1)} MB`;

export function describeSweep(s: SweepSummary): string {
  return [
    `removed ${s.scratch.objects} intermediates (${mb(s.scratch.bytes)}) of ${s.scratch.runs} ended runs` +
      (s.running ? `; left those of ${s.running} runs still going` : ''),
    `removed ${s.expired.objects} originals and outputs (${mb(s.expired.bytes)}) last used before ${s.cutoff}`,
    `kept ${s.kept.objects} originals and outputs (${mb(s.kept.bytes)})`,
  ].join('\n');
}
