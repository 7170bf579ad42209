// Workflow-safe core: every edit here is a workflow change, covered by the replay test (test/replay.test.ts).
import type { OutputFormat } from './formats';

/**
 * What a share target accepts for an image. The workflow hands these to the filter service's fitImage, which makes
 * a variant within them, so share activities never do image work themselves.
 */
export interface ImageLimits {
  /** Largest encoded size in bytes. */
  maxBytes: number;
  /** Largest width or height in pixels. */
  maxSide: number;
  /** Formats taken as they are; anything else is re-encoded as JPEG. */
  formats: readonly OutputFormat[];
}

/**
 * Bluesky: an images embed takes blobs of at most 1,000,000 bytes (its lexicon's maxSize); the apps show images at
 * up to 2000 px on the long side, so larger ones only cost bytes that the size limit then takes from quality.
 */
export const BLUESKY_IMAGE_LIMITS: ImageLimits = {
  maxBytes: 1_000_000,
  maxSide: 2000,
  formats: ['jpeg', 'png', 'webp'],
};

/** A post's text: at most 300 graphemes and 3000 bytes of UTF-8 (app.bsky.feed.post). */
export const BLUESKY_TEXT_LIMITS = { maxGraphemes: 300, maxBytes: 3000 } as const;
