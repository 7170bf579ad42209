// Workflow-safe core: every edit here is a workflow change, covered by the replay test (test/replay.test.ts).
import { invalidInput } from './params';
import { validatePhotoRequest, type CheckedRequest, type PhotoRequest } from './photo-request';
import type { ImageRef, UploadSource } from './types';

/**
 * Albums: several photos, one request. The album workflow runs a child processPhoto per photo, a few at a time,
 * and continues as new every `batchSize` photos so its history stays small however many photos there are.
 */

export const MAX_ALBUM_PHOTOS = 1000;
export const DEFAULT_ALBUM_CONCURRENCY = 4;
export const MAX_ALBUM_CONCURRENCY = 32;
export const DEFAULT_ALBUM_BATCH = 100;
export const MAX_ALBUM_BATCH = 200;

export interface AlbumPhoto {
  source: UploadSource;
  title?: string;
}

/** The album's input: the request applies to every photo; `title` names the album. */
export interface AlbumInput extends PhotoRequest {
  photos: AlbumPhoto[];
  /** Photos processed at once (default 4). With review, this many wait for a decision at a time. */
  concurrency?: number;
  /** Photos per run of the album workflow before it continues as new (default 100). */
  batchSize?: number;
  /** Carried across continue-as-new: the next photo to start and what became of the earlier ones. */
  next?: number;
  outcomes?: AlbumPhotoOutcome[];
}

export type AlbumPhotoState = 'waiting' | 'running' | 'done' | 'not-published' | 'failed';

export interface AlbumPhotoOutcome {
  index: number;
  title: string;
  state: AlbumPhotoState;
  /** The photo's own run. */
  workflowId: string;
  output?: Pick<ImageRef, 'key' | 'format' | 'width' | 'height'>;
  error?: string;
}

/** What the `albumProgress` query answers: every photo, in order, with where it is. */
export interface AlbumProgress {
  title: string;
  total: number;
  done: number;
  failed: number;
  photos: AlbumPhotoOutcome[];
}

export interface AlbumResult {
  total: number;
  done: number;
  failed: number;
  outcomes: AlbumPhotoOutcome[];
}

/** Finished photos (published or not) and failed ones. */
export function countOutcomes(outcomes: AlbumPhotoOutcome[]): { done: number; failed: number } {
  return {
    done: outcomes.filter((o) => o.state === 'done' || o.state === 'not-published').length,
    failed: outcomes.filter((o) => o.state === 'failed').length,
  };
}

const whole = (name: string, value: unknown, min: number, max: number, fallback: number): number => {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || (value as number) < min || (value as number) > max) {
    throw invalidInput(
      `expected ${name} to be an integer between ${min} and ${max}, received ${JSON.stringify(value)}`,
    );
  }
  return value as number;
};

/**
 * The album as a whole is checked before any photo starts (the request, the counts); each photo's source is its
 * own run's business, so one bad photo fails alone.
 */
export function validateAlbum(
  input: AlbumInput,
): CheckedRequest & { photos: AlbumPhoto[]; concurrency: number; batchSize: number } {
  const { photos, concurrency, batchSize, next: _next, outcomes: _outcomes, ...request } = input ?? {};
  if (!Array.isArray(photos) || photos.length === 0 || photos.length > MAX_ALBUM_PHOTOS) {
    throw invalidInput(
      `expected photos to be an array of 1 to ${MAX_ALBUM_PHOTOS} photos, received ${Array.isArray(photos) ? `${photos.length} photos` : JSON.stringify(photos)}`,
    );
  }
  photos.forEach((photo, index) => {
    if (photo === null || typeof photo !== 'object' || typeof photo.source !== 'object' || photo.source === null) {
      throw invalidInput(
        `photos[${index}]: expected {"source": {...}, "title"?: "..."}, received ${JSON.stringify(photo)}`,
      );
    }
  });
  return {
    ...validatePhotoRequest(request),
    photos,
    concurrency: whole('concurrency', concurrency, 1, MAX_ALBUM_CONCURRENCY, DEFAULT_ALBUM_CONCURRENCY),
    batchSize: whole('batchSize', batchSize, 1, MAX_ALBUM_BATCH, DEFAULT_ALBUM_BATCH),
  };
}

/** Photo runs of an album are named after it: findable from the album, the same across retries of a start. */
export function albumPhotoId(albumId: string, index: number): string {
  return `${albumId}-${String(index + 1).padStart(4, '0')}`;
}
