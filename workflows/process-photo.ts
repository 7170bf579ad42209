import {
  ActivityFailure,
  ApplicationFailure,
  TimeoutFailure,
  TimeoutType,
  type ActivityOptions,
  type SearchAttributeUpdatePair,
} from '@temporalio/common';
import {
  ActivityCancellationType,
  CancellationScope,
  defineQuery,
  isCancellation,
  log,
  patched,
  proxyActivities,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { ChainActivities } from '../activities/filters/fused-chain';
import type { FilterActivities } from '../activities/filters/activities';
import type { FitActivities } from '../activities/filters/fit-image';
import type { ScratchActivities } from '../activities/store/scratch';
import { innermostMessage } from '../src/common/failures';
import { checkChainSize, completeChain } from '../src/common/filter-chain';
import { SCRATCH_SCOPE } from '../src/common/image-ref';
import { validatePhotoRequest, type CheckedRequest } from '../src/common/photo-request';
import { invalidInput } from '../src/common/params';
import type { ShareActivities } from '../activities/share/activities';
import { filterOptions, HELD_START_TIMEOUT, shareOptions, uploadOptions } from './activity-options';
import type { ReviewOutcome } from '../src/common/review';
import {
  SOURCE_KINDS,
  type FilterInput,
  type FilterStep,
  type ImageRef,
  type ShareInput,
  type ShareReceipt,
} from '../src/common/types';
import type { UploadActivities } from '../activities/upload/upload';
import { runLabels, startAttributes, type RunLabels } from '../src/common/run-labels';
import { PHOTO_SHA256, PHOTO_STEP } from '../src/common/search-attributes';
import { BLUESKY_IMAGE_LIMITS } from '../src/common/share-limits';
import type { ProcessPhotoInput, ProcessPhotoResult, Progress, ShareTarget } from '../src/common/workflow-io';
import { reviewGate } from './review';

export const progressQuery = defineQuery<Progress>('progress');

/** The services as the workflow calls them; `cancellationType` applies to every activity. */
function services(cancellationType?: ActivityCancellationType) {
  const withCancellation = (options: ActivityOptions) =>
    cancellationType ? { ...options, cancellationType } : options;
  const share = proxyActivities<ShareActivities>(withCancellation(shareOptions));
  return {
    upload: proxyActivities<UploadActivities>(withCancellation(uploadOptions)).upload,
    filters: proxyActivities<FilterActivities>(withCancellation(filterOptions)),
    fused: proxyActivities<ChainActivities>(withCancellation(filterOptions)),
    fit: proxyActivities<FitActivities>(withCancellation(filterOptions)),
    scratch: proxyActivities<ScratchActivities>(withCancellation(filterOptions)),
    share,
    shareTo: { gallery: share.shareGallery, webhook: share.shareWebhook, bluesky: share.shareBluesky } as const,
  };
}
type Services = ReturnType<typeof services>;

/** As runs before the 'cancel-compensation' patch called them: a cancelled activity is given up on at once. */
const servicesBeforeCancelCompensation = services();
/**
 * A cancelled activity is waited for until it has ended (filters stop at their next heartbeat, a running share
 * finishes what it started): only then is it known what there is to undo, and nothing runs once the run has ended.
 */
const servicesAwaitingCancel = services(ActivityCancellationType.WAIT_CANCELLATION_COMPLETED);

/** Workflow IDs become idempotency keys, header values and gallery file names: keep them to a safe alphabet. */
export const SAFE_ID = /^(?!.*\.\.)[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$/;

function validateInput(input: ProcessPhotoInput): CheckedRequest {
  const { workflowId } = workflowInfo();
  if (!SAFE_ID.test(workflowId)) {
    throw invalidInput(
      `expected the workflow ID to be 1-200 letters, digits, '.', '_', ':' or '-' (no '..'), received ${JSON.stringify(workflowId)}`,
    );
  }
  const source = input?.source as Record<string, unknown> | undefined;
  const kinds = source ? SOURCE_KINDS.filter((k) => typeof source[k] === 'string') : [];
  if (kinds.length !== 1 || Object.keys(source!).length !== 1) {
    throw invalidInput(
      `expected source to be {"path": "..."}, {"url": "..."} or {"blob": "<sha256>.<ext>"}, received ${JSON.stringify(input?.source)}`,
    );
  }
  return validatePhotoRequest(input);
}

/** Whether the start request carried these labels (the clients and processAlbum send them): then they are set. */
function startedWith(labels: RunLabels): boolean {
  const { memo: started, typedSearchAttributes } = workflowInfo();
  if (started?.source !== labels.memo.source || started?.title !== labels.memo.title) return false;
  return startAttributes(labels).every(
    ({ key, value }) => JSON.stringify(typedSearchAttributes.get(key)) === JSON.stringify(value),
  );
}

const describeStep = (step: FilterStep) =>
  [step.filter, ...Object.entries(step.params ?? {}).map(([k, v]) => `${k}=${JSON.stringify(v)}`)].join(' ');

/**
 * Upload → the user's filter chain, in order → every share target in parallel. Only blob keys pass through
 * history. The whole request is checked before the first activity, so bad input fails at once with nothing done.
 */
export async function processPhoto(input: ProcessPhotoInput): Promise<ProcessPhotoResult> {
  const progress: Progress = {
    stage: 'starting',
    step: 'validate',
    stepsDone: 0,
    stepsTotal: 0,
    shares: [],
    plan: [],
    finished: [],
  };
  setHandler(progressQuery, () => progress);
  const review = reviewGate(progress);
  const { chain, targets, review: reviewRequest, intermediates } = validateInput(input);
  // Every change behind patched() below was added after runs were live (see test/replay.test.ts). Each patched()
  // call costs a run a marker and a search-attribute update (issue 12), so a run that has the newest of these
  // umbrella patches takes every earlier patch's new path without asking; runs from before it replay as they ran.
  // lean-bookkeeping's own change: labels that came with the start request are not set again, and a closed run's
  // PhotoStep stays at its last stage (its status says it ended): up to three events and visibility writes fewer.
  const lean = patched('lean-bookkeeping');
  const current = lean || patched('one-patch-for-all');
  // Work that cannot fit is refused before it holds a worker's memory: what the chain alone tells now, the rest once
  // the upload has measured the original. Cancellation waits for running services and undoes what the run published
  // (see shareEverywhere).
  const guarded = current || patched('size-limit-cancel-compensation');
  if (guarded) checkChainSize(chain);
  const services = guarded ? servicesAwaitingCancel : servicesBeforeCancelCompensation;
  const { upload, fused } = services;
  progress.stepsTotal = 1 + chain.length + (chain.at(-1)?.filter === 'output' ? 0 : 1) + targets.length;
  progress.plan = [
    'upload',
    ...chain.map((s) => s.filter),
    ...(chain.at(-1)?.filter === 'output' ? [] : ['output']),
    ...(reviewRequest ? ['review'] : []),
    ...targets.map((t) => `share:${t}`),
  ];

  const labels = runLabels(input)!; // validated above
  const { source: sourceName, title } = labels.memo;
  const labelled = lean && startedWith(labels);
  // Behind patched() (runs started before replay as they ran): PhotoStep changes once per stage, not per step, and
  // rides along with the run's other search attributes: with five filter steps, 11 search-attribute updates per run
  // become 5 (issue 12: each is a history event and a visibility write). The progress query still names every step;
  // during the filter stage PhotoStep names the whole plan, as with fuse.
  const perStage = current || patched('search-attributes-per-stage');
  if (!labelled) upsertMemo(labels.memo);
  const runAttributes = labels.attributes;
  if (!perStage) upsertSearchAttributes(runAttributes);

  const enter = (stage: Progress['stage'], step: string, attributes: SearchAttributeUpdatePair[] = []) => {
    progress.stage = stage;
    progress.step = step;
    if (perStage && stage === 'filter') return; // set with the upload's result, below
    if ((labelled && stage === 'upload') || (lean && stage === 'done')) return;
    upsertSearchAttributes([...attributes, { key: PHOTO_STEP, value: step }]);
  };
  const done = (artifact?: ImageRef) => {
    progress.stepsDone++;
    if (artifact) progress.currentArtifact = artifact;
    progress.finished!.push({ step: progress.step, ...(artifact ? { artifact } : {}) });
  };

  // The run's scratch scope once its filters use one: its intermediates are deleted when the run ends (below).
  let scratch: string | undefined;
  try {
    enter('upload', 'upload', perStage ? runAttributes : []);
    const original = await upload.executeWithOptions({ summary: `upload ${sourceName}`.slice(0, 200) }, [input.source]);
    done(original);

    const steps: ProcessPhotoResult['steps'] = [];
    let image = original;
    let plan = completeChain(chain, original.format);
    if (guarded) checkChainSize(plan, original);
    const sha256 = { key: PHOTO_SHA256, value: original.sha256 };
    if (!perStage) upsertSearchAttributes([sha256]);
    else upsertSearchAttributes([sha256, { key: PHOTO_STEP, value: plan.map((s) => s.filter).join('+') }]);
    if (input.fuse === true && plan.length > 1) {
      // Opt-in: the whole chain as one applyChain activity on the filter queue. Same output blob; no intermediate
      // blobs and one orchestration round trip instead of one per step. Without `fuse` nothing here runs.
      const names = plan.map((s) => s.filter).join('+');
      enter('filter', names);
      image = await fused.applyChain.executeWithOptions({ summary: plan.map(describeStep).join(' | ').slice(0, 200) }, [
        { image, steps: plan },
      ]);
      steps.push({ filter: names, image });
      for (const _ of plan) done(image);
      plan = [];
    }
    // Added after runs were live, so behind patched(). Every step before the output stores its result in this run's
    // own scratch folder, deleted when the run ends however it ends (the previews of a run waiting for review stay
    // until then): identical runs share the blobs of the content-addressed area, so deleting an intermediate there
    // could take one from a run still going. Only runs with intermediates ask (the fused path keeps them in
    // memory): the others are spared the patch's marker.
    // Runs that ask for intermediates in memory (no history before it has `intermediates`: no patch needed) hold
    // each step's result in the worker that made it, with the recipe to make it again anywhere (see filterStep).
    const { runId } = workflowInfo();
    const holding = intermediates === 'memory' && plan.length > 1;
    if (!holding && plan.length > 1 && SCRATCH_SCOPE.test(runId) && (current || patched('run-scratch'))) {
      scratch = runId;
    }
    for (const [index, step] of plan.entries()) {
      enter('filter', step.filter);
      const intermediate = index < plan.length - 1;
      const stepInput: FilterInput = { image, params: step.params };
      if (scratch !== undefined && intermediate) stepInput.scratch = scratch;
      if (holding && intermediate) stepInput.hold = true;
      if (holding && index > 0) stepInput.recipe = { original, steps: plan.slice(0, index) };
      image = await filterStep(services, step, stepInput);
      steps.push({ filter: step.filter, image });
      done(image);
    }
    // Added after runs were live, so behind patched(): runs started before replay as they ran (test/replay.test.ts).
    // Where the output is, on the run itself: shown by the Web UI and `temporal workflow describe` without a worker,
    // and kept when a share then fails (a failed run has no result).
    // Runs with the per-stage patch always record the output: asking for this patch too would cost them a marker and
    // a search-attribute update (patched() makes both).
    if (perStage || patched('memo-records-output')) upsertMemo({ output: image });

    // Only runs whose input asks for review take this path, and no history before it has `review`: no patch needed.
    let reviewed: ReviewOutcome | undefined;
    if (reviewRequest) {
      enter('review', 'review');
      reviewed = await review.wait(reviewRequest.timeoutMs);
      if (reviewed.decision !== 'approved') {
        enter('done', 'done');
        return { original, output: image, steps, shares: [], review: reviewed };
      }
    }

    enter('share', targets.map((t) => `share:${t}`).join(',') || 'share:none');
    const shares = await shareEverywhere(
      targets,
      { image, title, filters: chain.map((s) => s.filter) },
      progress,
      services,
      guarded,
    );
    enter('done', 'done');
    return { original, output: image, steps, shares, ...(reviewed ? { review: reviewed } : {}) };
  } catch (err) {
    progress.stage = 'failed';
    progress.error = (err as Error).message;
    throw err;
  } finally {
    if (scratch !== undefined) await deleteScratch(services, scratch);
  }
}

/**
 * One filter step. An input held in a filter worker's memory sends the step to that worker's own queue; if no
 * worker takes it there in time (that worker is gone, or busy), the step goes to the shared queue, where the worker
 * that takes it makes the input again from the recipe. Not an async function: the SDK records a stack trace for
 * every promise a workflow creates, and an async wrapper around the activity's promise adds two per step
 * (BENCHMARKS.md, eleventh pass).
 */
function filterStep({ filters }: Services, step: FilterStep, input: FilterInput): Promise<ImageRef> {
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
async function deleteScratch({ scratch }: Services, scope: string): Promise<void> {
  try {
    await CancellationScope.nonCancellable(() =>
      scratch.deleteScratch.executeWithOptions({ summary: "delete the run's intermediates" }, [{ scope }]),
    );
  } catch (err) {
    log.warn(`the run's intermediates were not deleted (the next sweep deletes them): ${innermostMessage(err)}`);
  }
}

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
async function shareEverywhere(
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
