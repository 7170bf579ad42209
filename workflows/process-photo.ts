import type { SearchAttributeUpdatePair } from '@temporalio/common';
import {
  defineQuery,
  patched,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { checkChainSize, completeChain } from '../src/common/filter-chain';
import { SCRATCH_SCOPE } from '../src/common/image-ref';
import { invalidInput } from '../src/common/params';
import { validatePhotoRequest, type CheckedRequest } from '../src/common/photo-request';
import type { ReviewOutcome } from '../src/common/review';
import { runLabels, startAttributes, type RunLabels } from '../src/common/run-labels';
import { PHOTO_SHA256, PHOTO_STEP } from '../src/common/search-attributes';
import { SOURCE_KINDS, type FilterInput, type ImageRef } from '../src/common/types';
import { SAFE_ID, type ProcessPhotoInput, type ProcessPhotoResult, type Progress } from '../src/common/workflow-io';
import { deleteScratch, describeStep, filterStep } from './filter-steps';
import { reviewGate } from './review';
import { servicesAwaitingCancel, servicesBeforeCancelCompensation } from './services';
import { shareEverywhere } from './shares';

export const progressQuery = defineQuery<Progress>('progress');

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
