import type { AlbumPhotoView, AlbumView } from '../views';
import { byId, el, showError } from './dom';
import { follow, part, post, STATUS_LABELS, when } from './live';

/** The album page: every photo of the album with where it is, each linking to its own run page. */

const albumId = document.body.dataset.albumId ?? '';
const api = `/api/albums/${encodeURIComponent(albumId)}`;

const STATE_LABELS: Record<string, string> = {
  waiting: 'waiting',
  running: 'running…',
  done: 'done',
  'not-published': 'not published',
  failed: 'failed',
};

function header(view: AlbumView): HTMLElement {
  const cancel = el('button', { type: 'button', id: 'cancel', class: 'danger' }, 'Cancel album');
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
      ` album of ${view.total} photos, started ${when(view.startedAt)} · `,
      el('a', { href: view.webUi, target: '_blank', rel: 'noopener', id: 'web-ui' }, 'Temporal Web UI'),
    ),
    view.status === 'RUNNING' ? el('p', { class: 'actions' }, cancel) : null,
    problem,
  );
}

function counts(view: AlbumView): HTMLElement {
  return el(
    'div',
    { class: 'progress' },
    el('progress', { max: Math.max(view.total, 1), value: view.done + view.failed, id: 'progress' }),
    el('span', { id: 'counts' }, `${view.done} done, ${view.failed} failed, of ${view.total}`),
  );
}

function tile(photo: AlbumPhotoView): HTMLElement {
  const image = photo.thumbnail ? el('img', { src: photo.thumbnail, alt: photo.title, loading: 'lazy' }) : null;
  const name = el('strong', {}, photo.title);
  return el(
    'li',
    { class: 'step', 'data-photo': photo.index, 'data-state': photo.state },
    el(
      'div',
      { class: 'step-head' },
      photo.page ? el('a', { href: photo.page }, name) : name,
      el('span', { class: 'badge' }, STATE_LABELS[photo.state] ?? photo.state),
    ),
    image ? el('figure', {}, photo.page ? el('a', { href: photo.page }, image) : image) : null,
    photo.error ? el('p', { class: 'field-error' }, photo.error) : null,
  );
}

function render(root: HTMLElement, view: AlbumView): void {
  document.title = `${view.title} · nano-photos`;
  part(root, 'header', { title: view.title, status: view.status, total: view.total }, () => header(view));
  part(root, 'progress', [view.done, view.failed, view.total], () => counts(view));
  part(root, 'error', view.error, () =>
    view.error ? el('p', { class: 'alert', role: 'alert', id: 'album-error' }, view.error) : null,
  );
  const list = part(root, 'photos', null, () => el('ol', { class: 'run-steps', id: 'photos' }));
  for (const photo of view.photos) part(list, `photo-${photo.index}`, photo, () => tile(photo));
}

follow<AlbumView>(api, byId('album'), render);
