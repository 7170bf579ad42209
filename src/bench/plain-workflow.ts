import { proxyActivities } from '@temporalio/workflow';

/**
 * The orchestration ceiling's reference pipeline: six activities in a row that do nothing, without processPhoto's
 * search attributes, memo and queries. Bundled only by the benchmark's no-op worker.
 */
export const PLAIN_TASK_QUEUE = 'bench-plain';

const { step } = proxyActivities<{ step(index: number): Promise<number> }>({
  taskQueue: PLAIN_TASK_QUEUE,
  startToCloseTimeout: '1 minute',
});

export async function sixSteps(): Promise<number> {
  let done = 0;
  for (let i = 0; i < 6; i++) done += await step(i);
  return done;
}
