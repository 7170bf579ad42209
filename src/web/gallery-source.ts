import { gallerySidecars } from '../../activities/share/gallery';
import type { GalleryEntry } from '../../activities/share/gallery-page';
import { extensionOf } from '../common/formats';
import type { ObjectStore } from '../lib/blob-store';
import { HttpError } from './errors';
import { previewPath } from './preview';

/** Reads every published entry; the app asks for nothing else of the gallery. */
export type ReadGallery = () => Promise<GalleryEntry[]>;

/**
 * The one place the web app touches the gallery's storage: through the gallery module, on whatever store the share
 * service publishes to (a folder, a bucket), reading only the sidecars that changed since the last look. Images
 * are not read from the gallery at all: an entry names its bytes by their sha256, and the same bytes are the run's
 * output in the blob store.
 */
export function galleryReader(gallery: ObjectStore): ReadGallery {
  const sidecars = gallerySidecars(gallery);
  return async () => (await sidecars()).entries;
}

export interface GalleryItem {
  title: string;
  filters: string[];
  format: string;
  width: number;
  height: number;
  bytes: number;
  publishedAt: string;
  /** The run that published it, when its idempotency key names one (`<workflow id>:gallery`). */
  workflowId?: string;
  runPage?: string;
  image: string;
  thumbnail: string;
}

export interface GalleryPage {
  items: GalleryItem[];
  page: number;
  pages: number;
  perPage: number;
  total: number;
}

export const GALLERY_PER_PAGE = 24;
const MAX_PER_PAGE = 100;

function item(entry: GalleryEntry): GalleryItem {
  const key = `${entry.sha256}.${extensionOf(entry.format)}`;
  const workflowId = entry.idempotencyKey.endsWith(':gallery') ? entry.idempotencyKey.slice(0, -8) : undefined;
  return {
    title: entry.title,
    filters: entry.filters,
    format: entry.format,
    width: entry.width,
    height: entry.height,
    bytes: entry.bytes,
    publishedAt: entry.publishedAt,
    ...(workflowId ? { workflowId, runPage: `/runs/${encodeURIComponent(workflowId)}` } : {}),
    image: `/api/blobs/${key}`,
    thumbnail: previewPath({ key, format: entry.format, width: entry.width, height: entry.height, channels: 0 }, 640),
  };
}

/** `?page=2&perPage=24` as the API and the page take it: whole numbers, perPage up to 100. */
export function pageParams(query: { page?: string; perPage?: string }): { page: number; perPage: number } {
  const whole = (name: string, raw: string | undefined, fallback: number, max: number) => {
    if (raw === undefined) return fallback;
    const value = /^\d{1,9}$/.test(raw) ? Number(raw) : NaN;
    if (!(value >= 1 && value <= max)) {
      throw new HttpError(
        400,
        `expected ${name} to be a whole number from 1 to ${max}, received ${JSON.stringify(raw)}`,
      );
    }
    return value;
  };
  return {
    page: whole('page', query.page, 1, 1_000_000),
    perPage: whole('perPage', query.perPage, GALLERY_PER_PAGE, MAX_PER_PAGE),
  };
}

/** Newest first (ties by key, as the gallery's own page orders them), one page of them. */
export async function galleryPage(
  read: ReadGallery,
  { page, perPage }: { page: number; perPage: number },
): Promise<GalleryPage> {
  const entries = (await read()).sort(
    (a, b) => b.publishedAt.localeCompare(a.publishedAt) || a.idempotencyKey.localeCompare(b.idempotencyKey),
  );
  const pages = Math.max(1, Math.ceil(entries.length / perPage));
  return {
    items: entries.slice((page - 1) * perPage, page * perPage).map(item),
    page,
    pages,
    perPage,
    total: entries.length,
  };
}
