import { createHash } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { BLUESKY_TEXT_LIMITS } from '../../src/common/share-limits';
import type { ImageRef } from '../../src/common/types';

/**
 * What a share to Bluesky writes: an app.bsky.feed.post record whose key and content depend on the run alone, so
 * every attempt writes the identical record under the identical key and create-only writes make it exactly once.
 */
export const POST_COLLECTION = 'app.bsky.feed.post';
/** The PDS refused the post (too long, too large, not an image it takes): retrying the same post will not help. */
export const BLUESKY_POST_REFUSED = 'BlueskyPostRefused';

const TID_ALPHABET = '234567abcdefghijklmnopqrstuvwxyz';

const graphemes = (text: string) => [...new Intl.Segmenter('en', { granularity: 'grapheme' }).segment(text)].length;
const fitsText = (text: string) =>
  graphemes(text) <= BLUESKY_TEXT_LIMITS.maxGraphemes && Buffer.byteLength(text) <= BLUESKY_TEXT_LIMITS.maxBytes;

/**
 * A record key in the TID format Bluesky requires for posts (13 characters of sortable base32 over 53 bits of
 * microseconds and a 10-bit clock ID), from the run's start time and its idempotency key: the microseconds below
 * the millisecond and the clock ID come from the key's hash, so two runs started in the same millisecond differ.
 */
export function postRecordKey(createdAt: string, idempotencyKey: string): string {
  const hash = createHash('sha256').update(idempotencyKey).digest();
  const micros = BigInt(Date.parse(createdAt)) * 1000n + BigInt(hash.readUInt16BE(0) % 1000);
  let tid = (micros << 10n) | BigInt(hash.readUInt16BE(2) & 0x3ff);
  let key = '';
  for (let i = 0; i < 13; i++) {
    key = TID_ALPHABET[Number(tid & 31n)] + key;
    tid >>= 5n;
  }
  return key;
}

/**
 * "<title>" and a line naming the filters, within Bluesky's text limits: a long filter list is shortened with "…";
 * a title that alone is too long is refused (it is also the alt text, and cutting it would change what it says).
 */
export function postText(title: string, filters: string[]): string {
  const { maxGraphemes, maxBytes } = BLUESKY_TEXT_LIMITS;
  if (!fitsText(title)) {
    throw ApplicationFailure.nonRetryable(
      `shareBluesky: a post's text may be at most ${maxGraphemes} graphemes and ${maxBytes} bytes (Bluesky's limit); ` +
        `the title alone is ${graphemes(title)} graphemes, ${Buffer.byteLength(title)} bytes`,
      BLUESKY_POST_REFUSED,
    );
  }
  if (filters.length === 0) return title;
  for (let shown = filters.length; shown > 0; shown--) {
    const text = `${title}\n\nFilters: ${filters.slice(0, shown).join(', ')}${shown < filters.length ? ', …' : ''}`;
    if (fitsText(text)) return text;
  }
  return title;
}

export interface PostRecord {
  $type: typeof POST_COLLECTION;
  text: string;
  createdAt: string;
  embed: {
    $type: 'app.bsky.embed.images';
    images: { image: unknown; alt: string; aspectRatio: { width: number; height: number } }[];
  };
  [k: string]: unknown;
}

/** The post: its text, the run's start time, and the photo with its alt text (the title) and aspect ratio. */
export function postRecord(input: {
  text: string;
  alt: string;
  createdAt: string;
  image: ImageRef;
  blob: unknown;
}): PostRecord {
  const { text, alt, createdAt, image, blob } = input;
  return {
    $type: POST_COLLECTION,
    text,
    createdAt,
    embed: {
      $type: 'app.bsky.embed.images',
      images: [{ image: blob, alt, aspectRatio: { width: image.width, height: image.height } }],
    },
  };
}
