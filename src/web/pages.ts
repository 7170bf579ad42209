import { escapeHtml } from '../../activities/share/gallery-page';
import type { GalleryItem, GalleryPage } from './gallery-source';

/**
 * The pages' HTML. Markup only: behaviour comes from /assets/*.js and looks from /static/style.css, so the
 * Content-Security-Policy can forbid inline scripts and styles. Everything from a user goes through escapeHtml.
 */

type Section = 'upload' | 'gallery' | 'run';

function layout(options: { title: string; section: Section; body: string; script?: string; data?: string }): string {
  const nav = (section: Section, href: string, label: string) =>
    `<a href="${href}"${options.section === section ? ' aria-current="page"' : ''}>${label}</a>`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(options.title)} · nano-photos</title>
<link rel="stylesheet" href="/static/style.css">
<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
${options.script ? `<script type="module" src="/assets/${options.script}.js"></script>` : ''}
</head>
<body${options.data ?? ''}>
<header class="site">
<a class="brand" href="/">nano-photos</a>
<nav>${nav('upload', '/', 'Upload')}${nav('gallery', '/gallery', 'Gallery')}</nav>
</header>
<main>
${options.body}
</main>
</body>
</html>
`;
}

export function uploadPage(): string {
  return layout({
    title: 'Upload photos',
    section: 'upload',
    script: 'upload',
    body: `<h1>Upload photos</h1>
<noscript><p class="alert">This page needs JavaScript; the JSON API (POST /api/photos) works without it.</p></noscript>
<form id="upload" novalidate>
<section class="card">
<h2>1. Photos</h2>
<label class="drop" id="drop">
<input type="file" id="files" name="photo" accept="image/*" multiple>
<span class="drop-text"><strong>Choose photos</strong> or drop them here</span>
<span class="hint" id="limits"></span>
</label>
<ul class="chosen" id="chosen" aria-live="polite"></ul>
<p class="field-error" id="files-error" role="alert" hidden></p>
<label class="field">Title <span class="hint">(optional; the file name otherwise; for several photos, the album's name)</span>
<input type="text" id="title" maxlength="200" autocomplete="off">
</label>
<p class="field-error" id="title-error" role="alert" hidden></p>
</section>
<section class="card">
<h2>2. Filters <span class="hint">applied in this order</span></h2>
<ol class="steps" id="steps"></ol>
<div class="add-step">
<label>Add a filter <select id="add-filter"></select></label>
<button type="button" id="add-step">Add</button>
</div>
<p class="field-error" id="chain-error" role="alert" hidden></p>
<label class="field">How the filters run
<select id="filter-mode">
<option value="store" selected>one service call per filter, each result stored: every step has a preview</option>
<option value="memory">one service call per filter, each result kept in the filter worker's memory: faster</option>
<option value="fuse">all filters in one service call: the fastest</option>
</select>
</label>
</section>
<section class="card">
<h2>3. Publish</h2>
<fieldset class="targets" id="targets"><legend>Share to</legend></fieldset>
<label class="check"><input type="checkbox" id="review"> Let me review the result before it is published</label>
<label class="field" id="review-timeout-field" hidden>Wait for my decision for
<input type="text" id="review-timeout" value="24 hours" autocomplete="off">
<span class="hint">e.g. 90 minutes, 24h, 7 days; after that nothing is published</span>
</label>
<p class="field-error" id="review-error" role="alert" hidden></p>
</section>
<div class="actions">
<button type="submit" class="primary" id="send" disabled>Upload and process</button>
<progress id="sending" max="1" value="0" hidden></progress>
</div>
<p class="alert" id="form-error" role="alert" hidden></p>
</form>`,
  });
}

/** The JSON API's collection for each page that follows one workflow as it runs (the browser script polls it). */
const FOLLOWED = { run: 'photos', album: 'albums' } as const;

function followPage(kind: keyof typeof FOLLOWED, workflowId: string): string {
  const id = escapeHtml(workflowId);
  const api = `/api/${FOLLOWED[kind]}/${escapeHtml(encodeURIComponent(workflowId))}`;
  return layout({
    title: `${kind === 'run' ? 'Run' : 'Album'} ${workflowId}`,
    section: 'run',
    script: kind,
    data: ` data-${kind}-id="${id}"`,
    body: `<noscript><p class="alert">This page needs JavaScript to follow the ${kind}; GET ${api} answers its state.</p></noscript>
<div id="${kind}" aria-live="polite"><p class="hint">Loading ${id}…</p></div>`,
  });
}

export function runPage(workflowId: string): string {
  return followPage('run', workflowId);
}

export function albumPage(workflowId: string): string {
  return followPage('album', workflowId);
}

function kilobytes(bytes: number): string {
  return bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(0)} KB` : `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function galleryItem(item: GalleryItem): string {
  const title = escapeHtml(item.title);
  const when = escapeHtml(item.publishedAt);
  const run = item.runPage ? ` · <a href="${escapeHtml(item.runPage)}">run</a>` : '';
  return `<li><figure>
<a href="${escapeHtml(item.image)}"><img src="${escapeHtml(item.thumbnail)}" alt="${title}" loading="lazy"></a>
<figcaption><strong>${title}</strong>
<span>${Number(item.width)}×${Number(item.height)} ${escapeHtml(item.format)}, ${kilobytes(Number(item.bytes))}${run}</span>
<span class="hint">${item.filters.length ? item.filters.map(escapeHtml).join(' → ') : 'no filters'}</span>
<time datetime="${when}">${when.replace('T', ' ').replace(/\.\d+Z$|Z$/, ' UTC')}</time></figcaption>
</figure></li>`;
}

export function galleryHtml(page: GalleryPage): string {
  const link = (n: number, label: string, rel: string) => `<a href="/gallery?page=${n}" rel="${rel}">${label}</a>`;
  const pager = `<nav class="pager" aria-label="Gallery pages">
${page.page > 1 ? link(page.page - 1, '← Newer', 'prev') : '<span></span>'}
<span>Page ${page.page} of ${page.pages}</span>
${page.page < page.pages ? link(page.page + 1, 'Older →', 'next') : '<span></span>'}
</nav>`;
  const body =
    page.total === 0
      ? '<p>Nothing published yet. <a href="/">Upload a photo</a>.</p>'
      : `<p class="hint">${page.total} ${page.total === 1 ? 'photo' : 'photos'}, newest first.</p>
<ul class="gallery" id="gallery">
${page.items.map(galleryItem).join('\n')}
</ul>
${page.pages > 1 ? pager : ''}`;
  return layout({ title: 'Gallery', section: 'gallery', body: `<h1>Gallery</h1>\n${body}` });
}

const STATUS_TITLES: Record<number, string> = { 400: 'Bad request', 404: 'Not found', 413: 'Too large' };

export function errorPage(status: number, message: string): string {
  const title = STATUS_TITLES[status] ?? (status >= 500 ? 'Something went wrong' : 'Cannot do that');
  return layout({
    title,
    section: 'upload',
    body: `<h1>${title}</h1><p class="alert">${escapeHtml(message)}</p><p><a href="/">Upload a photo</a> or see the <a href="/gallery">gallery</a>.</p>`,
  });
}
