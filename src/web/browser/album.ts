import type { AlbumPhotoView, AlbumView } from '../views';
import { byId, el } from './dom';
import { errorPart, follow, ITEM_STATE_LABELS, pageHeader, part, progressBar, when } from './live';

/** The album page: every photo of the album with where it is, each linking to its own run page. */

const albumId = document.body.dataset.albumId ?? '';
const api = `/api/albums/${encodeURIComponent(albumId)}`;

const STATE_LABELS: Record<string, string> = { ...ITEM_STATE_LABELS, 'not-published': 'not published' };

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
  part(root, 'header', { title: view.title, status: view.status, total: view.total }, () =>
    pageHeader(api, view, 'Cancel album', ` album of ${view.total} photos, started ${when(view.startedAt)} · `),
  );
  part(root, 'progress', [view.done, view.failed, view.total], () =>
    progressBar(view.total, view.done + view.failed, `${view.done} done, ${view.failed} failed, of ${view.total}`, {
      id: 'counts',
    }),
  );
  errorPart(root, view.error, 'album-error');
  const list = part(root, 'photos', null, () => el('ol', { class: 'run-steps', id: 'photos' }));
  for (const photo of view.photos) part(list, `photo-${photo.index}`, photo, () => tile(photo));
}

follow<AlbumView>(api, byId('album'), render);
