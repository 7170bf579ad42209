// Workflow-safe core: every edit here is a workflow change, covered by the replay test (test/replay.test.ts).
import { IMAGE_FORMATS, type StoredFormat } from './formats';
import { invalidInput } from './params';
import type { ImageRef } from './types';

/** The largest side libvips reads or writes in most formats; the filter catalog asks for less (MAX_REQUESTED_SIDE). */
export const MAX_IMAGE_SIDE = 65_535;

const KEY = /^[0-9a-f]{64}\.[a-z0-9]{1,5}$/;
/** A run's scratch scope: its run ID (a UUID), letters, digits and '-' only, so it is one folder name on every driver. */
export const SCRATCH_SCOPE = /^[A-Za-z0-9-]{1,64}$/;
const SCRATCH_KEY = /^scratch\/[A-Za-z0-9-]{1,64}\/[0-9a-f]{64}\.[a-z0-9]{1,5}$/;
/** An intermediate held in a filter worker's memory: never a name in the store. */
export const HELD_KEY = /^memory\/[0-9a-f]{64}\.raw$/;

/**
 * Keys come from workflow history and user-started runs: never let one name a path outside the store. This is the
 * shared, content-addressed area (originals and outputs): `<sha256>.<ext>`.
 */
export function checkKey(key: unknown): string {
  if (typeof key !== 'string' || !KEY.test(key)) {
    throw new Error(`blob key must look like <sha256>.<ext>, received ${JSON.stringify(key)}`);
  }
  return key;
}

/**
 * A key of either area: shared, or a run's own intermediates, `scratch/<scope>/<sha256>.<ext>` (content-addressed
 * within the run, so a retried step finds its own blob; deleted when the run ends). Only images passed between
 * steps may be scratch keys: uploads and previews take shared keys only (checkKey).
 */
export function checkStoredKey(key: unknown): string {
  if (typeof key === 'string' && SCRATCH_KEY.test(key)) return key;
  try {
    return checkKey(key);
  } catch {
    throw new Error(
      `blob key must look like <sha256>.<ext> or scratch/<scope>/<sha256>.<ext>, received ${JSON.stringify(key)}`,
    );
  }
}

/** The sha256 a checked key names. */
export const hashOfKey = (key: string): string => key.slice(key.lastIndexOf('/') + 1, key.lastIndexOf('/') + 65);

/**
 * An image reference arrives from workflow history or a hand-written CLI input: every service checks it like any
 * parameter before touching the store. `formats` are the ones this service takes.
 */
export function checkImageRef(
  operation: string,
  image: unknown,
  formats: readonly StoredFormat[] = [...IMAGE_FORMATS, 'raw'],
): ImageRef {
  const ref = image as Partial<ImageRef> | undefined;
  const sideOk = (n: unknown) => Number.isInteger(n) && (n as number) >= 1 && (n as number) <= MAX_IMAGE_SIDE;
  if (!ref || typeof ref !== 'object' || !sideOk(ref.width) || !sideOk(ref.height)) {
    throw invalidInput(
      `${operation}: expected image to be an image reference {key, format, width, height, ...} with sides of 1 to ` +
        `${MAX_IMAGE_SIDE} pixels, received ${JSON.stringify(image)}`,
    );
  }
  // An intermediate a filter worker holds (raw pixels only); else a key of the store.
  const held = typeof ref.key === 'string' && HELD_KEY.test(ref.key) && ref.format === 'raw';
  try {
    if (!held) checkStoredKey(ref.key);
  } catch (err) {
    throw invalidInput(`${operation}: image.key: ${(err as Error).message}`);
  }
  if (!formats.includes(ref.format as StoredFormat)) {
    throw invalidInput(
      `${operation}: expected image.format to be one of ${formats.join(', ')}, received ${JSON.stringify(ref.format)}`,
    );
  }
  // Raw pixels are described by the reference alone: sharp reads 1 to 4 channels.
  if (ref.format === 'raw' && !(Number.isInteger(ref.channels) && ref.channels! >= 1 && ref.channels! <= 4)) {
    throw invalidInput(
      `${operation}: expected image.channels of a raw image to be an integer between 1 and 4, received ${JSON.stringify(ref.channels)}`,
    );
  }
  return ref as ImageRef;
}
