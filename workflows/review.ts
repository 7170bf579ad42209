import { ApplicationFailure } from '@temporalio/common';
import { condition, defineUpdate, setHandler, upsertMemo } from '@temporalio/workflow';
import { checkDecision, type ReviewDecision, type ReviewOutcome } from '../src/common/review';
import type { Progress } from '../src/common/workflow-io';

/** Approve or reject a run that waits for review: `{decision: "approve" | "reject", by, note?}`. */
export const reviewUpdate = defineUpdate<ReviewOutcome, [ReviewDecision]>('review');

const describeOutcome = (o: ReviewOutcome) =>
  o.decision === 'timed-out' ? `timed out at ${o.at}` : `was already ${o.decision} by ${o.by} at ${o.at}`;

/**
 * The review gate of one run. The Update handler is registered for every run, so a decision sent to a run that
 * does not (or no longer) wait gets a clear refusal from the validator instead of "no handler"; a refused Update
 * leaves nothing in history. Registering a handler issues no command, so old histories replay unchanged.
 */
export function reviewGate(progress: Progress) {
  let waiting = false;
  let outcome: ReviewOutcome | undefined;

  const refusal = (): string | undefined => {
    if (outcome) return `this run's review ${describeOutcome(outcome)}`;
    if (!waiting) {
      return progress.review === undefined
        ? `this run is not waiting for review (it is at ${progress.stage}: ${progress.step}; review must be asked for when the run starts)`
        : 'this run is no longer waiting for review';
    }
    return undefined;
  };

  setHandler(
    reviewUpdate,
    (raw) => {
      // Two Updates validated in the same workflow task both pass the validator: the first one decides.
      const refused = refusal();
      if (refused) throw ApplicationFailure.nonRetryable(refused, 'ReviewClosed');
      const { decision, by, note } = checkDecision(raw);
      outcome = {
        decision: decision === 'approve' ? 'approved' : 'rejected',
        by,
        ...(note ? { note } : {}),
        at: new Date().toISOString(),
      };
      return outcome;
    },
    {
      validator: (raw) => {
        const refused = refusal();
        if (refused) throw new Error(refused);
        checkDecision(raw);
      },
    },
  );

  return {
    /** Waits for the decision or the timeout; records the outcome in the memo (seen in the Web UI without a worker). */
    async wait(timeoutMs: number): Promise<ReviewOutcome> {
      waiting = true;
      progress.review = { deadline: new Date(Date.now() + timeoutMs).toISOString() };
      await condition(() => outcome !== undefined, timeoutMs);
      waiting = false;
      outcome ??= { decision: 'timed-out', at: new Date().toISOString() };
      progress.review.outcome = outcome;
      upsertMemo({ review: outcome });
      return outcome;
    },
  };
}
