import { innermostMessage } from '../common/failures';
import { HELD_KEY } from '../common/image-ref';
import type { ImageRef } from '../common/types';
import type { ProcessPhotoResult, Progress } from '../common/workflow-io';
import { PHOTO_SHARE_TARGETS } from '../common/search-attributes';
import { progressQuery } from '../../workflows';
import { previewPath } from './preview';
import type { ArtifactView, RunView, StepState, StepView } from './views';
import { withTimeout, workflowHead, type ViewDeps } from './workflow-view';

export type { RunView } from './views';

export function artifactView(ref: ImageRef): ArtifactView {
  const { key, format, width, height, bytes } = ref;
  return { key, format, width, height, bytes, ...(HELD_KEY.test(key) ? {} : { preview: previewPath(ref) }) };
}

interface Retry {
  step: string;
  attempt: number;
  lastFailure?: string;
}

/**
 * `shareGallery` → `share:gallery`; a filter's activity is named after the filter; applyChain runs the current step;
 * fitImage makes Bluesky's variant, part of that share step.
 */
function stepOfActivity(type: string, current: string): string {
  if (type === 'fitImage') return 'share:bluesky';
  const share = /^share([A-Z]\w*)$/.exec(type);
  if (share) return `share:${share[1][0].toLowerCase()}${share[1].slice(1)}`;
  return type === 'applyChain' ? current : type;
}

/**
 * Steps from the workflow's own account (the progress query): the plan, the finished steps with their artifacts, the
 * step running now, and the retries Temporal reports for pending activities.
 */
export function stepViews(progress: Progress, retries: Retry[], closed: boolean): StepView[] {
  const plan = progress.plan ?? [];
  const finished = progress.finished ?? [];
  const shared = new Set(progress.shares.map((s) => s.target));
  const reviewOutcome = progress.review?.outcome;
  let failedMarked = false;
  return plan.map((name, index): StepView => {
    const retry = retries.find((r) => r.step === name);
    const extra = retry && retry.attempt > 1 ? { attempt: retry.attempt, lastFailure: retry.lastFailure } : {};
    let state: StepState;
    let artifact: ImageRef | undefined;
    if (name.startsWith('share:')) {
      state = shared.has(name.slice('share:'.length))
        ? 'done'
        : reviewOutcome && reviewOutcome.decision !== 'approved'
          ? 'skipped'
          : progress.stage === 'share'
            ? 'running'
            : 'waiting';
    } else if (name === 'review') {
      state = reviewOutcome || progress.stage === 'done' ? 'done' : progress.stage === 'review' ? 'running' : 'waiting';
    } else if (index < finished.length) {
      state = 'done';
      artifact = finished[index].artifact;
    } else {
      state =
        index === finished.length && (progress.stage === 'upload' || progress.stage === 'filter')
          ? 'running'
          : 'waiting';
    }
    if (state === 'waiting' || state === 'running') {
      // The first step that never finished is where a failed run failed; the rest of a closed run never ran.
      if (progress.stage === 'failed' && !failedMarked) {
        state = 'failed';
        failedMarked = true;
      } else if (closed) {
        state = 'skipped';
      }
    }
    return { name, state, ...(artifact ? { artifact: artifactView(artifact) } : {}), ...extra };
  });
}

/** The progress a completed run would answer, from its result: the same steps and artifacts. */
export function progressOf(result: ProcessPhotoResult, targets: string[]): Progress {
  const finished = [
    { step: 'upload', artifact: result.original },
    ...result.steps.map((s) => ({ step: s.filter, artifact: s.image })),
  ];
  return {
    stage: 'done',
    step: 'done',
    stepsDone: finished.length + result.shares.length,
    stepsTotal: finished.length + targets.length,
    shares: result.shares,
    plan: [...finished.map((f) => f.step), ...(result.review ? ['review'] : []), ...targets.map((t) => `share:${t}`)],
    finished,
  };
}

/**
 * One look at a run: describe() for its status and retries, the progress query for its steps, and for a closed run
 * its result or failure. The progress query needs a workflow worker; without one the view still has the status.
 */
export async function runView(deps: ViewDeps, workflowId: string, queryTimeoutMs = 3000): Promise<RunView> {
  const handle = deps.client.workflow.getHandle(workflowId);
  const description = await handle.describe();
  const status = description.status.name;
  const closed = status !== 'RUNNING';
  let result: ProcessPhotoResult | undefined;
  let error: string | undefined;
  if (status === 'COMPLETED') result = (await handle.result()) as ProcessPhotoResult;
  else if (closed) error = await handle.result().then(() => undefined, innermostMessage);
  // A completed run's result tells everything without a worker; otherwise ask the workflow itself.
  const progress = result
    ? progressOf(result, description.typedSearchAttributes.get(PHOTO_SHARE_TARGETS) ?? [])
    : await withTimeout(handle.query(progressQuery), queryTimeoutMs);
  const current = progress?.step ?? '';
  const retries: Retry[] = (description.raw.pendingActivities ?? []).map((activity) => ({
    step: stepOfActivity(activity.activityType?.name ?? '', current),
    attempt: activity.attempt ?? 1,
    lastFailure: activity.lastFailure?.message ?? undefined,
  }));
  const steps = progress ? stepViews(progress, retries, closed) : [];
  const review = progress?.review ?? (result?.review ? { outcome: result.review } : undefined);
  const output = result?.output;
  return {
    ...workflowHead(deps, description, 'runs'),
    // Counted over the plan, which has the review step too.
    stepsDone: steps.filter((s) => s.state === 'done').length,
    stepsTotal: steps.length,
    steps,
    ...(review
      ? {
          review: {
            waiting: progress?.stage === 'review' && !closed,
            ...('deadline' in review ? { deadline: review.deadline } : {}),
            ...(review.outcome ? { outcome: review.outcome } : {}),
          },
        }
      : {}),
    ...(output ? { output: artifactView(output) } : {}),
    shares: (result?.shares ?? progress?.shares ?? []).map((s) => ({ target: s.target, duplicate: s.duplicate })),
    ...((error ?? progress?.error) ? { error: error ?? progress?.error } : {}),
  };
}
