import type { OutputFormat } from '../../src/common/types';

/** What the gallery keeps beside each published image (`<name>.json`); the page is rendered from these alone. */
export interface GalleryEntry {
  idempotencyKey: string;
  /** The image's file name in the gallery folder. */
  file: string;
  title: string;
  filters: string[];
  format: OutputFormat;
  width: number;
  height: number;
  bytes: number;
  sha256: string;
  /** ISO 8601, UTC. */
  publishedAt: string;
}

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Titles and filter names come from users: everything user-supplied goes through here, in text and attributes. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

function kilobytes(bytes: number): string {
  return bytes < 1024 ? `${bytes} B` : `${(bytes / 1024).toFixed(1)} KB`;
}

function item(entry: GalleryEntry): string {
  const src = escapeHtml(encodeURIComponent(entry.file));
  const title = escapeHtml(entry.title);
  const filters = entry.filters.length ? entry.filters.map(escapeHtml).join(', ') : 'none';
  const when = escapeHtml(entry.publishedAt);
  // Sidecars are ours, but coerce and escape the rest too: a bad value must not be able to inject markup.
  const [width, height] = [Number(entry.width), Number(entry.height)];
  return `<li><figure>
<a href="${src}"><img src="${src}" alt="${title}" width="${width}" height="${height}" loading="lazy"></a>
<figcaption><strong>${title}</strong><br>${width}×${height} ${escapeHtml(entry.format)}, ${kilobytes(Number(entry.bytes))}<br>
filters: ${filters}<br><time datetime="${when}">${when.replace('T', ' ').replace(/\.\d+Z$|Z$/, ' UTC')}</time></figcaption>
</figure></li>`;
}

/**
 * A self-contained page a browser opens straight from disk, newest first. Deterministic (no "generated at"), so
 * writers can tell whether the page on disk is already current.
 */
export function renderGalleryPage(entries: GalleryEntry[]): string {
  const sorted = [...entries].sort(
    (a, b) => b.publishedAt.localeCompare(a.publishedAt) || a.idempotencyKey.localeCompare(b.idempotencyKey),
  );
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="script-src 'none'; object-src 'none'">
<title>nano-photos gallery</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2rem; background: #fafafa; color: #222; }
ul { list-style: none; padding: 0; display: grid; grid-template-columns: repeat(auto-fill, minmax(260px, 1fr)); gap: 1.5rem; }
figure { margin: 0; background: #fff; padding: .75rem; border-radius: 6px; box-shadow: 0 1px 3px #0002; }
img { max-width: 100%; height: auto; display: block; }
figcaption { margin-top: .5rem; font-size: .9rem; overflow-wrap: anywhere; }
</style>
</head>
<body>
<h1>nano-photos gallery</h1>
<p>${sorted.length} ${sorted.length === 1 ? 'photo' : 'photos'}, newest first.</p>
<ul>
${sorted.map(item).join('\n')}
</ul>
</body>
</html>
`;
}
