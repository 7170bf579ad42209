import sharp from 'sharp';
import { DECODE_LIMITS, openBuffer } from '../../activities/shared/image-io';
import { checkKey, checkStoredKey } from '../common/image-ref';
import type { ImageRef } from '../common/types';
import type { BlobStore } from '../lib/blob-store';
import { HttpError } from './errors';

/**
 * Small JPEG previews of any image in the blob store, intermediates included: a raw intermediate is only pixels, so
 * its URL carries its shape (`?shape=WxHxC`), which must account for every byte. Keys are content hashes, so a
 * preview never changes and browsers may keep it for good. A run's intermediates (scratch/<scope>/<file>) are named
 * by their file and `?scope=`: they can be previewed while the run goes on, and are gone once it has ended.
 */
export const PREVIEW_WIDTHS = [160, 320, 640, 1280] as const;
const DEFAULT_WIDTH = 320;

export function previewPath(
  ref: Pick<ImageRef, 'key' | 'format' | 'width' | 'height' | 'channels'>,
  width?: number,
): string {
  const query = new URLSearchParams();
  const [file, scope] = ref.key.split('/').reverse();
  if (scope) query.set('scope', scope);
  if (ref.format === 'raw') query.set('shape', `${ref.width}x${ref.height}x${ref.channels}`);
  if (width !== undefined) query.set('w', String(width));
  return `/api/previews/${file}${query.size ? `?${query}` : ''}`;
}

function parseShape(raw: string | undefined, bytes: number): { width: number; height: number; channels: number } {
  const match = /^(\d{1,5})x(\d{1,5})x([1-4])$/.exec(raw ?? '');
  if (!match) throw new HttpError(400, 'a raw image needs ?shape=WIDTHxHEIGHTxCHANNELS (channels 1 to 4)');
  const [width, height, channels] = match.slice(1).map(Number);
  if (width < 1 || height < 1 || width * height * channels !== bytes) {
    throw new HttpError(400, `shape ${raw} does not match the blob's ${bytes} bytes`);
  }
  return { width, height, channels };
}

/** A blob key from a request: checked before it reaches the store, so it can never name anything but a blob. */
export function keyParam(key: string): string {
  try {
    return checkKey(key);
  } catch (err) {
    throw new HttpError(400, (err as Error).message);
  }
}

function scratchKeyParam(file: string, scope: string): string {
  try {
    checkKey(file);
    return checkStoredKey(`scratch/${scope}/${file}`);
  } catch (err) {
    throw new HttpError(400, (err as Error).message);
  }
}

export async function renderPreview(
  store: BlobStore,
  file: string,
  query: { w?: string; shape?: string; scope?: string },
): Promise<Buffer> {
  const key = query.scope === undefined ? keyParam(file) : scratchKeyParam(file, query.scope);
  const width = query.w === undefined ? DEFAULT_WIDTH : Number(query.w);
  if (!PREVIEW_WIDTHS.includes(width as (typeof PREVIEW_WIDTHS)[number])) {
    throw new HttpError(
      400,
      `expected w to be one of ${PREVIEW_WIDTHS.join(', ')}, received ${JSON.stringify(query.w)}`,
    );
  }
  if (!(await store.has(key))) throw new HttpError(404, `no image ${key} in the blob store`);
  const data = await store.get(key);
  const image = key.endsWith('.raw')
    ? openBuffer(data, { format: 'raw', ...parseShape(query.shape, data.length) })
    : sharp(data, { ...DECODE_LIMITS, autoOrient: true, animated: false });
  try {
    return await image
      .resize({ width, height: width, fit: 'inside', withoutEnlargement: true })
      .flatten({ background: '#ffffff' })
      .jpeg({ quality: 78 })
      .toBuffer();
  } catch (err) {
    throw new HttpError(422, `cannot preview ${key}: ${(err as Error).message.split('\n')[0]}`);
  }
}
