import { MAX_REVIEWER_CHARS } from '../../common/review';
import type { ArtifactView, RunView, StepView } from '../views';
import { byId, el, kilobytes, showError } from './dom';
import { errorPart, follow, ITEM_STATE_LABELS, pageHeader, part, post, progressBar, sized, when } from './live';

/**
 * The run page: one event stream from the server (which watches the run), never polling from here. Each part of the
 * page is rebuilt only when its own data changed, so a half-typed reviewer name survives updates.
 */

const workflowId = document.body.dataset.runId ?? '';
const api = `/api/photos/${encodeURIComponent(workflowId)}`;
const NAME_KEY = 'nano-photos.reviewer';

const STATE_LABELS: Record<StepView['state'], string> = { ...ITEM_STATE_LABELS, skipped: 'skipped' };

function artifactFigure(artifact: ArtifactView, width: number, caption: string): HTMLElement {
  const { preview } = artifact;
  // Held in a filter worker's memory (intermediates: 'memory'): never stored, so never shown.
  const image = preview
    ? el('img', { src: sized(preview, width), alt: caption, loading: 'lazy' })
    : el('p', { class: 'hint' }, "held in a filter worker's memory, not stored");
  // A run's intermediates are deleted when it ends (README, Retention): say so rather than show a broken image.
  if (preview?.includes('scope=')) {
    image.addEventListener('error', () => image.replaceWith(el('p', { class: 'hint' }, 'deleted when the run ended')), {
      once: true,
    });
  }
  const whole = artifact.format === 'raw' ? null : `/api/blobs/${artifact.key}`;
  return el(
    'figure',
    {},
    whole ? el('a', { href: whole }, image) : image,
    el(
      'figcaption',
      { class: 'hint' },
      `${artifact.width}×${artifact.height} ${artifact.format}, ${kilobytes(artifact.bytes)}`,
    ),
  );
}

function stepItem(step: StepView): HTMLElement {
  const retry =
    step.attempt && step.attempt > 1
      ? el(
          'p',
          { class: 'retry' },
          `retry ${step.attempt - 1} (attempt ${step.attempt})`,
          step.lastFailure ? `: ${step.lastFailure}` : '',
        )
      : null;
  return el(
    'li',
    { class: 'step', 'data-step': step.name, 'data-state': step.state },
    el(
      'div',
      { class: 'step-head' },
      el('strong', {}, step.name),
      el(
        'span',
        { class: 'badge' },
        step.name === 'review' && step.state === 'running' ? 'waiting for you' : STATE_LABELS[step.state],
      ),
    ),
    retry,
    step.artifact ? artifactFigure(step.artifact, 320, `${step.name} result`) : null,
  );
}

function reviewPanel(view: RunView): HTMLElement | null {
  const review = view.review;
  if (!review) return null;
  if (review.outcome) {
    const { decision, by, note, at } = review.outcome;
    const text =
      decision === 'timed-out'
        ? `Nobody reviewed it before ${when(at)}: nothing was published.`
        : `${decision === 'approved' ? 'Approved' : 'Rejected'} by ${by} on ${when(at)}${note ? ` (“${note}”)` : ''}` +
          (decision === 'rejected' ? ': nothing was published.' : '.');
    return el(
      'section',
      { class: 'card review', id: 'review' },
      el('h2', {}, 'Review'),
      el('p', { id: 'review-outcome' }, text),
    );
  }
  if (!review.waiting) return null;
  const last = [...view.steps].reverse().find((s) => s.artifact)?.artifact;
  const name = el('input', {
    type: 'text',
    id: 'reviewer',
    maxlength: MAX_REVIEWER_CHARS,
    autocomplete: 'name',
    value: localStorage.getItem(NAME_KEY) ?? '',
  });
  const problem = el('p', { class: 'field-error', role: 'alert', hidden: true });
  const decide = (decision: 'approve' | 'reject') => {
    const by = name.value.trim() || 'anonymous';
    localStorage.setItem(NAME_KEY, name.value.trim());
    for (const b of buttons) b.disabled = true;
    post(api, decision, { by }).catch((err: Error) => {
      for (const b of buttons) b.disabled = false;
      showError(problem, err.message);
    });
  };
  const approve = el('button', { type: 'button', class: 'primary', id: 'approve' }, 'Approve and publish');
  const reject = el('button', { type: 'button', class: 'danger', id: 'reject' }, 'Reject');
  const buttons = [approve, reject];
  approve.addEventListener('click', () => decide('approve'));
  reject.addEventListener('click', () => decide('reject'));
  return el(
    'section',
    { class: 'card review', id: 'review' },
    el('h2', {}, 'Your review'),
    el(
      'p',
      {},
      `Nothing is published until you decide. Waiting until ${review.deadline ? when(review.deadline) : 'the timeout'}.`,
    ),
    last ? artifactFigure(last, 640, 'the result to review') : null,
    el('label', { class: 'field', for: 'reviewer' }, 'Your name'),
    name,
    el('p', { class: 'actions' }, approve, reject),
    problem,
  );
}

function resultPanel(view: RunView): HTMLElement | null {
  if (!view.output) return null;
  const shares = view.shares.map((s) =>
    el(
      'li',
      {},
      s.target === 'gallery' ? el('a', { href: '/gallery' }, 'in the gallery') : `sent to ${s.target}`,
      s.duplicate ? ' (already there)' : '',
    ),
  );
  return el(
    'section',
    { class: 'card result', id: 'result' },
    el('h2', {}, 'Result'),
    artifactFigure(view.output, 1280, view.title),
    shares.length ? el('ul', { class: 'shares' }, ...shares) : el('p', { class: 'hint' }, 'Not shared anywhere.'),
  );
}

function render(root: HTMLElement, view: RunView): void {
  document.title = `${view.title} · nano-photos`;
  const head = { title: view.title, status: view.status, startedAt: view.startedAt, webUi: view.webUi };
  part(root, 'header', head, () =>
    pageHeader(api, view, 'Cancel run', ` started ${when(view.startedAt)} · `, ' · ', el('code', {}, view.workflowId)),
  );
  part(root, 'progress', [view.stepsDone, view.stepsTotal], () =>
    progressBar(view.stepsTotal, view.stepsDone, `${view.stepsDone} of ${view.stepsTotal} steps`),
  );
  errorPart(root, view.error, 'run-error');
  part(root, 'review', view.review, () => reviewPanel(view));
  part(root, 'result', [view.output, view.shares], () => resultPanel(view));
  const list = part(root, 'steps', null, () => el('ol', { class: 'run-steps', id: 'steps' }));
  view.steps.forEach((step, index) => part(list, `step-${index}`, step, () => stepItem(step)));
}

follow<RunView>(api, byId('run'), render);
