import { el, showError, type Child } from './dom';

/** What the run and album pages share: following one event stream and rebuilding only the parts that changed. */

export const STATUS_LABELS: Record<string, string> = {
  RUNNING: 'running',
  COMPLETED: 'done',
  FAILED: 'failed',
  CANCELLED: 'cancelled',
  TERMINATED: 'stopped',
  TIMED_OUT: 'timed out',
};

/** A preview URL at another width. */
export function sized(preview: string, width: number): string {
  const url = new URL(preview, location.origin);
  url.searchParams.set('w', String(width));
  return url.pathname + url.search;
}

export const when = (iso: string) => new Date(iso).toLocaleString();

/** How one step of a run, or one photo of an album, stands; each page adds its own states. */
export const ITEM_STATE_LABELS = { waiting: 'waiting', running: 'running…', done: 'done', failed: 'failed' };

/**
 * The head of a run or album page: the title, the status badge, `meta` and the Temporal Web UI link, and a Cancel
 * button (POST `<api>/cancel`) while the workflow runs.
 */
export function pageHeader(
  api: string,
  view: { title: string; status: string; webUi: string },
  cancelLabel: string,
  meta: string,
  ...after: Child[]
): HTMLElement {
  const cancel = el('button', { type: 'button', id: 'cancel', class: 'danger' }, cancelLabel);
  const problem = el('p', { class: 'field-error', role: 'alert', hidden: true });
  cancel.addEventListener('click', () => {
    cancel.disabled = true;
    post(api, 'cancel').catch((err: Error) => {
      cancel.disabled = false;
      showError(problem, err.message);
    });
  });
  return el(
    'header',
    { class: 'run-head' },
    el('h1', {}, view.title),
    el(
      'p',
      { class: 'meta' },
      el(
        'span',
        { class: 'badge', id: 'status', 'data-status': view.status },
        STATUS_LABELS[view.status] ?? view.status,
      ),
      meta,
      el('a', { href: view.webUi, target: '_blank', rel: 'noopener', id: 'web-ui' }, 'Temporal Web UI'),
      ...after,
    ),
    view.status === 'RUNNING' ? el('p', { class: 'actions' }, cancel) : null,
    problem,
  );
}

/** The progress bar under the head; `label` carries the text's attributes. */
export function progressBar(max: number, value: number, text: string, label: Record<string, string> = {}): HTMLElement {
  return el(
    'div',
    { class: 'progress' },
    el('progress', { max: Math.max(max, 1), value, id: 'progress' }),
    el('span', label, text),
  );
}

/** The workflow's own failure, as an alert with `id`, when there is one. */
export function errorPart(root: HTMLElement, error: string | undefined, id: string): void {
  part(root, 'error', error, () => (error ? el('p', { class: 'alert', role: 'alert', id }, error) : null));
}

/** Parts of the page, each replaced only when the JSON it is built from changes. */
const parts = new Map<string, { json: string; node: HTMLElement }>();
export function part(root: HTMLElement, name: string, data: unknown, build: () => HTMLElement | null): HTMLElement {
  const json = JSON.stringify(data) ?? '';
  const known = parts.get(name);
  if (known?.json === json) return known.node;
  const node = build() ?? el('div', { hidden: true });
  node.dataset.part = name;
  if (known) known.node.replaceWith(node);
  else root.append(node);
  parts.set(name, { json, node });
  return node;
}

/** POSTs to `<api>/<path>`; a refusal becomes an Error with the server's message. */
export async function post(api: string, path: string, body?: object): Promise<void> {
  const answer = await fetch(`${api}/${path}`, {
    method: 'POST',
    ...(body ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {}),
  });
  if (!answer.ok) {
    const { error } = (await answer.json().catch(() => ({}))) as { error?: string };
    throw new Error(error ?? `the server answered ${answer.status}`);
  }
}

/**
 * Renders every view the server sends on `<api>/events` until it says `end`: the server watches the workflow, the
 * page never polls.
 */
export function follow<V>(api: string, root: HTMLElement, render: (root: HTMLElement, view: V) => void): void {
  root.replaceChildren();
  const problem = el('p', { class: 'alert', role: 'alert', hidden: true, id: 'stream-problem' });
  root.before(problem);
  const events = new EventSource(`${api}/events`);
  events.addEventListener('view', (e) => {
    showError(problem, undefined);
    render(root, JSON.parse((e as MessageEvent<string>).data) as V);
  });
  events.addEventListener('problem', (e) =>
    showError(problem, (JSON.parse((e as MessageEvent<string>).data) as { error: string }).error),
  );
  events.addEventListener('end', () => events.close());
  events.addEventListener('error', () => {
    if (events.readyState !== EventSource.CLOSED) return; // the browser reconnects by itself
    // Refused outright (no such run, a bad ID): ask once why.
    void fetch(api)
      .then((r) => r.json() as Promise<{ error?: string }>)
      .then((answer) => showError(problem, answer.error ?? 'this cannot be shown'))
      .catch(() => showError(problem, 'the server cannot be reached'));
  });
}
