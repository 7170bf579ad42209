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
  /** Blob store key: `<sha256>.<ext>`, content-addressed. */
  key: string;
  /** `raw` for lossless intermediates between filters (8-bit pixels, described by width/height/channels). */
  format: StoredFormat;
  width: number;
  height: number;
  channels: number;
  bytes: number;
  sha256: string;
}

/** One step of the user's filter chain, as it appears in workflow input. */
export interface FilterStep {
  filter: string;
  params?: Record<string, unknown>;
}

export interface FilterInput {
  image: ImageRef;
  params?: Record<string, unknown>;
}

export type UploadSource = { path: string } | { url: string };

export interface ShareInput {
  image: ImageRef;
  /** Stable across retries so receivers and the gallery can drop duplicates. */
  idempotencyKey: string;
  /** Human-readable title, e.g. the original file name. */
  title: string;
  /** Filters applied, for the caption. */
  filters: string[];
}

export interface ShareReceipt {
  target: string;
  /** Where the shared image can be seen: a file path, a URL, or the receiver's answer. */
  location: string;
  idempotencyKey: string;
  /** True when the target already had this share (a retry after a crash). */
  duplicate: boolean;
}
