import { ApplicationFailure } from '@temporalio/common';
import { CancellationScope, isCancellation, workflowInfo } from '@temporalio/workflow';
import { innermostMessage } from '../src/common/failures';
import { BLUESKY_IMAGE_LIMITS } from '../src/common/share-limits';
import type { ShareInput, ShareReceipt } from '../src/common/types';
import type { Progress, ShareTarget } from '../src/common/workflow-io';
import type { Services } from './services';

/**
 * Bluesky gets a variant within its limits, made by the filter service (share activities do no image work), and the
 * run's start time as the post's date, the same on every retry. Only runs that share to Bluesky take this path; it
 * counts as part of the share step in the progress.
 */
async function fittedForBluesky({ fit }: Services, input: ShareInput): Promise<ShareInput> {
  const image = await fit.fitImage.executeWithOptions({ summary: 'fit the photo to Bluesky limits' }, [
    { image: input.image, limits: BLUESKY_IMAGE_LIMITS },
  ]);
  return { ...input, image, createdAt: workflowInfo().startTime.toISOString() };
}

type Undo = { what: string; undo(receipt: ShareReceipt): Promise<unknown> };

/** What the compensation can take back, per target; the others (a webhook post) are reported as kept. */
function undoShare({ share }: Services): Partial<Record<ShareTarget, Undo>> {
  return {
    gallery: {
      what: 'the gallery entry',
      undo: (receipt) =>
        share.unpublishGallery.executeWithOptions({ summary: 'remove gallery entry (compensation)' }, [
          { idempotencyKey: receipt.idempotencyKey },
        ]),
    },
    bluesky: {
      what: 'the Bluesky post',
      undo: (receipt) =>
        share.retractBluesky.executeWithOptions({ summary: 'delete the Bluesky post (compensation)' }, [
          { uri: receipt.location },
        ]),
    },
  };
}

/**
 * Compensation that runs even while the run is being cancelled (a scope its cancellation does not reach), with the
 * share retry policy. Answers what went wrong if it could not, so the caller reports it beside the failure that led
 * here rather than instead of it.
 */
async function undoFully(undo: Undo, receipt: ShareReceipt): Promise<string | undefined> {
  try {
    await CancellationScope.nonCancellable(() => undo.undo(receipt));
    return undefined;
  } catch (err) {
    return `removing ${undo.what} failed: ${innermostMessage(err)}`;
  }
}

/**
 * Shares in parallel. If a target fails for good, what can be taken back is (the gallery entry and the Bluesky post
 * are removed) and the run fails naming the target; a webhook post cannot be recalled and is reported as kept. If
 * the run is cancelled meanwhile, running shares finish and then the same is taken back, so a cancelled run leaves
 * nothing published that can be taken back. A compensation that fails is reported next to the original failure.
 */
export async function shareEverywhere(
  targets: ShareTarget[],
  base: Omit<ShareInput, 'idempotencyKey'>,
  progress: Progress,
  services: Services,
  undoesCancelled: boolean,
): Promise<ShareReceipt[]> {
  const { workflowId } = workflowInfo();
  const keyOf = (target: ShareTarget) => `${workflowId}:${target}`;
  const outcomes = await Promise.allSettled(
    targets.map(async (target) => {
      const input = { ...base, idempotencyKey: keyOf(target) };
      const receipt = await services.shareTo[target].executeWithOptions({ summary: `share to ${target}` }, [
        target === 'bluesky' ? await fittedForBluesky(services, input) : input,
      ]);
      progress.shares.push(receipt);
      progress.stepsDone++;
      return receipt;
    }),
  );
  const failed = targets.filter((_, i) => outcomes[i].status === 'rejected');
  if (failed.length === 0) return progress.shares;
  const reasonOf = (t: ShareTarget): unknown => (outcomes[targets.indexOf(t)] as PromiseRejectedResult).reason;

  progress.stage = 'compensating';
  const undos = undoShare(services);
  // Runs from before the patch replay the old way: cancellation neither waited for shares nor undid them.
  const cancelled = undoesCancelled ? failed.map(reasonOf).find(isCancellation) : undefined;
  if (cancelled) {
    // Every share has ended by now. The gallery is undone by its key, receipt or not: an attempt that failed part way
    // may have left files; the others by what their receipt says.
    const receipts = progress.shares.filter((r) => r.target !== 'gallery');
    if (targets.includes('gallery'))
      receipts.push({ target: 'gallery', idempotencyKey: keyOf('gallery') } as ShareReceipt);
    const problems: string[] = [];
    for (const receipt of receipts) {
      const undo = undos[receipt.target as ShareTarget];
      const problem = undo && (await undoFully(undo, receipt));
      if (problem) problems.push(problem);
    }
    if (problems.length) {
      throw ApplicationFailure.create({
        type: 'CompensationFailed',
        nonRetryable: true,
        message: `the run was cancelled, and ${problems.join('; ')}`,
        cause: cancelled as Error,
      });
    }
    throw cancelled;
  }

  const kept: string[] = [];
  const removed: string[] = [];
  const problems: string[] = [];
  for (const receipt of progress.shares) {
    const undo = undos[receipt.target as ShareTarget];
    if (!undo) kept.push(receipt.target);
    else if (!undoesCancelled) {
      await undo.undo(receipt);
      removed.push(receipt.target);
    } else {
      const problem = await undoFully(undo, receipt);
      if (problem) problems.push(`${problem}, it may still be published`);
      else removed.push(receipt.target);
    }
  }
  const reasons = failed.map((t) => `${t}: ${innermostMessage(reasonOf(t))}`);
  const what = removed.map((t) => undos[t as ShareTarget]!.what);
  throw ApplicationFailure.nonRetryable(
    `sharing failed (${reasons.join('; ')})` +
      (what.length ? `; ${what.join(' and ')} ${what.length > 1 ? 'were' : 'was'} removed` : '') +
      (problems.length ? `; ${problems.join('; ')}` : '') +
      (kept.length ? `; kept (cannot be recalled): ${kept.join(', ')}` : ''),
    'ShareFailed',
    { failed, kept, removed },
  );
}
