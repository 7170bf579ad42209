import { ActivityFailure, TimeoutFailure, TimeoutType } from '@temporalio/common';
import { CancellationScope, log } from '@temporalio/workflow';
import type { FilterActivities } from '../activities/filters/activities';
import { innermostMessage } from '../src/common/failures';
import type { FilterInput, FilterStep, ImageRef } from '../src/common/types';
import { HELD_START_TIMEOUT } from './activity-options';
import type { Services } from './services';

/** A step as the Web UI shows it: its filter and parameters (`resize width=1080`). */
export const describeStep = (step: FilterStep) =>
  [step.filter, ...Object.entries(step.params ?? {}).map(([k, v]) => `${k}=${JSON.stringify(v)}`)].join(' ');

/**
 * One filter step. An input held in a filter worker's memory sends the step to that worker's own queue; if no
 * worker takes it there in time (that worker is gone, or busy), the step goes to the shared queue, where the worker
 * that takes it makes the input again from the recipe. Not an async function: the SDK records a stack trace for
 * every promise a workflow creates, and an async wrapper around the activity's promise adds two per step
 * (BENCHMARKS.md, eleventh pass).
 */
export function filterStep({ filters }: Services, step: FilterStep, input: FilterInput): Promise<ImageRef> {
  const filter = filters[step.filter as keyof FilterActivities];
  const summary = describeStep(step).slice(0, 200);
  const holder = input.image.heldBy;
  return holder === undefined
    ? filter.executeWithOptions({ summary }, [input])
    : heldStep(filter, { summary, holder, stepName: step.filter }, input);
}

/** A step whose input a filter worker holds: on that worker's queue, else on the shared one. */
async function heldStep(
  filter: Services['filters'][keyof FilterActivities],
  { summary, holder, stepName }: { summary: string; holder: string; stepName: string },
  input: FilterInput,
): Promise<ImageRef> {
  try {
    return await filter.executeWithOptions({ summary, taskQueue: holder, scheduleToStartTimeout: HELD_START_TIMEOUT }, [
      input,
    ]);
  } catch (err) {
    const notTaken =
      err instanceof ActivityFailure &&
      err.cause instanceof TimeoutFailure &&
      err.cause.timeoutType === TimeoutType.SCHEDULE_TO_START;
    if (!notTaken) throw err;
    log.info(`no worker took ${stepName} from ${holder}: any filter worker makes its input again`);
    return filter.executeWithOptions({ summary }, [input]);
  }
}

/**
 * Runs even while the run is being cancelled. A deletion that fails for good does not change how the run ends: the
 * store's sweep deletes the scratch of every run that has ended (see workflows/sweep-store.ts).
 */
export async function deleteScratch({ scratch }: Services, scope: string): Promise<void> {
  try {
    await CancellationScope.nonCancellable(() =>
      scratch.deleteScratch.executeWithOptions({ summary: "delete the run's intermediates" }, [{ scope }]),
    );
  } catch (err) {
    log.warn(`the run's intermediates were not deleted (the next sweep deletes them): ${innermostMessage(err)}`);
  }
}
