// Workflow-safe core: every edit here is a workflow change, covered by the replay test (test/replay.test.ts).
/**
 * The claim check: what travels through Temporal instead of image bytes. Pure types, shared by workflows,
 * activities and clients.
 */
import type { StoredFormat } from './formats';

export type { ImageFormat, OutputFormat } from './formats';

/** An image's dimensions in pixels, as displayed (after EXIF orientation). */
export interface Size {
  width: number;
  height: number;
}

export interface ImageRef {
  /**
   * Blob store key: `<sha256>.<ext>`, content-addressed; a run's intermediates `scratch/<scope>/<sha256>.<ext>`; an
   * intermediate a filter worker holds in memory `memory/<random>.raw` (see heldBy).
   */
  key: string;
  /** `raw` for lossless intermediates between filters (8-bit pixels, described by width/height/channels). */
  format: StoredFormat;
  width: number;
  height: number;
  channels: number;
  bytes: number;
  sha256: string;
  /** An intermediate held in a filter worker's memory, not stored: that worker's own task queue. */
  heldBy?: string;
}

/** One step of the user's filter chain, as it appears in workflow input. */
export interface FilterStep {
  filter: string;
  params?: Record<string, unknown>;
}

export interface FilterInput {
  image: ImageRef;
  params?: Record<string, unknown>;
  /**
   * The run's scratch scope when the result is an intermediate, not the run's output: it is stored in the run's own
   * folder, which the run deletes when it ends. Absent: the shared area, kept for the retention period.
   */
  scratch?: string;
  /** Keep the result in this worker's memory for the run's next step instead of storing it (an intermediate). */
  hold?: boolean;
  /** With an image held in memory: how it was made, so a step on another worker can make it again. */
  recipe?: Recipe;
}

/** An intermediate as the original and the steps that made it from the original, in order. */
export interface Recipe {
  original: ImageRef;
  steps: FilterStep[];
}

/**
 * Where the upload service takes the photo from: a file on the upload worker's machine, a URL, or a blob the caller
 * already put into the shared blob store (callers that share no disk with the workers).
 */
export type UploadSource = { path: string } | { url: string } | { blob: string };

/** The source kinds, in the order error messages list them. */
export const SOURCE_KINDS = ['path', 'url', 'blob'] as const;

export interface ShareInput {
  image: ImageRef;
  /** Stable across retries so receivers and the gallery can drop duplicates. */
  idempotencyKey: string;
  /** Human-readable title, e.g. the original file name. */
  title: string;
  /** Filters applied, for the caption. */
  filters: string[];
  /**
   * When the run started (ISO 8601), for targets that date what they publish (bluesky): the same on every retry, so
   * a retried post is the identical record.
   */
  createdAt?: string;
}

export interface ShareReceipt {
  target: string;
  /** Where the shared image can be seen: a file path, a URL, or the receiver's answer. */
  location: string;
  idempotencyKey: string;
  /** True when the target already had this share (a retry after a crash). */
  duplicate: boolean;
  /** The account that posted, for targets with accounts (a Bluesky handle). */
  account?: string;
  /** The image as shared, for targets that get a variant fitted to their limits (the output itself if it fits). */
  image?: ImageRef;
}
