import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before } from 'node:test';
import type { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import sharp from 'sharp';
import { createFilterActivities } from '../../activities/filters/activities';
import type { FilterName } from '../../src/common/filter-catalog';
import type { ImageRef } from '../../src/common/types';
import { FileBlobStore, sha256 } from '../../src/lib/blob-store';
import { assertIsInvalidInput } from './invalid-input';
import { countFiles } from './files';

/*
 * The harness of the filter tests in test/filters/: every filter activity, run as Temporal runs it
 * (MockActivityEnvironment: activity context, heartbeats, failures) against a real blob store in a temp dir, on
 * generated images whose pixels are known, so each test can say what the filter must have done to them.
 *
 * Importing this module sets the test file up: a blob store in a fresh temp dir (removed after the file's tests),
 * the filter activities over it and, before the first test, the three SOURCES stored in it.
 */

// ---------------------------------------------------------------------------------------------------------------
// Test images

export type RGB = [number, number, number];
export const RED: RGB = [255, 0, 0];
export const GREEN: RGB = [0, 255, 0];
export const BLUE: RGB = [0, 0, 255];
export const GREY: RGB = [128, 128, 128];
export const WHITE: RGB = [255, 255, 255];

/** 64x48 (landscape, so rotations and aspect ratios show): red | green over blue | grey, a white top-left pixel. */
export const W = 64;
export const H = 48;
function quadrantColor(x: number, y: number): RGB {
  if (x === 0 && y === 0) return WHITE;
  if (y < H / 2) return x < W / 2 ? RED : GREEN;
  return x < W / 2 ? BLUE : GREY;
}
export function quadrantPixels(): Buffer {
  const data = Buffer.alloc(W * H * 3);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) data.set(quadrantColor(x, y), (y * W + x) * 3);
  return data;
}
/** Centres of the quadrants, far enough from every edge that blurs and JPEG's chroma subsampling leave them be. */
export const CENTRE = { tl: [16, 12], tr: [48, 12], bl: [16, 36], br: [48, 36] } as const;

const logger = new DefaultLogger('ERROR');
export const newEnv = () => new MockActivityEnvironment(undefined, { logger });

// ---------------------------------------------------------------------------------------------------------------
// Store, activities and helpers

const root = mkdtempSync(path.join(os.tmpdir(), 'nano-photos-filters-'));
export const store = new FileBlobStore(root);
export const activities = createFilterActivities({ store });

after(async () => {
  await rm(root, { recursive: true, force: true });
});

export function run(
  filter: FilterName,
  image: ImageRef,
  params?: Record<string, unknown>,
  env = newEnv(),
): Promise<ImageRef> {
  return env.run(activities[filter], { image, params });
}

/** Stores an encoded original as the upload activity would, and returns its reference. */
export async function storeOriginal(data: Buffer): Promise<ImageRef> {
  const meta = await sharp(data).metadata();
  const format = meta.format === 'heif' ? 'avif' : meta.format;
  const ext = format === 'jpeg' ? 'jpg' : format!;
  const blob = await store.put(data, ext);
  // As upload reports them: the dimensions as displayed, after the EXIF orientation.
  const { width, height } = meta.autoOrient;
  return { ...blob, format: format as ImageRef['format'], width, height, channels: meta.channels! };
}

export async function storeRawPixels(data: Buffer, width: number, height: number, channels: number): Promise<ImageRef> {
  const blob = await store.put(data, 'raw');
  return { ...blob, format: 'raw', width, height, channels };
}

export interface Pixels {
  width: number;
  height: number;
  channels: number;
  data: Buffer;
  /** The pixel's colour channels (alpha dropped). */
  rgb(x: number, y: number): RGB;
  alpha(x: number, y: number): number;
}

/** Decodes a stored image (raw or encoded) to 8-bit sRGB pixels. */
export async function decode(ref: ImageRef): Promise<Pixels> {
  const blob = await store.get(ref.key);
  let image: sharp.Sharp;
  if (ref.format === 'raw') {
    assert.equal(
      blob.length,
      ref.width * ref.height * ref.channels,
      `raw blob ${ref.key} holds width*height*channels bytes`,
    );
    image = sharp(blob, { raw: { width: ref.width, height: ref.height, channels: ref.channels as 1 | 2 | 3 | 4 } });
  } else {
    image = sharp(blob);
  }
  const { data, info } = await image.toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  const { width, height, channels } = info;
  const at = (x: number, y: number) => {
    assert.ok(x >= 0 && x < width && y >= 0 && y < height, `pixel (${x},${y}) lies in the ${width}x${height} image`);
    return (y * width + x) * channels;
  };
  return {
    width,
    height,
    channels,
    data,
    rgb: (x, y) => {
      const i = at(x, y);
      return channels < 3 ? [data[i], data[i], data[i]] : [data[i], data[i + 1], data[i + 2]];
    },
    alpha: (x, y) => (channels === 2 || channels === 4 ? data[at(x, y) + channels - 1] : 255),
  };
}

export function assertColor(actual: RGB, expected: RGB, tolerance: number, what: string) {
  const off = actual.some((v, i) => Math.abs(v - expected[i]) > tolerance);
  assert.ok(!off, `${what}: expected about rgb(${expected}) (±${tolerance}), got rgb(${actual})`);
}

export const luma = ([r, g, b]: RGB) => 0.2126 * r + 0.7152 * g + 0.0722 * b;

/** Asserts every pixel of `out` equals the pixel of `src` that `from` maps it to (exact geometric filters). */
export function assertMapped(out: Pixels, src: Pixels, from: (x: number, y: number) => [number, number], what: string) {
  for (let y = 0; y < out.height; y++) {
    for (let x = 0; x < out.width; x++) {
      const [sx, sy] = from(x, y);
      const a = out.rgb(x, y);
      const b = src.rgb(sx, sy);
      if (a.some((v, i) => v !== b[i]))
        assert.fail(`${what}: pixel (${x},${y}) is rgb(${a}), expected rgb(${b}) from (${sx},${sy})`);
    }
  }
}

/** The image must be a raw intermediate: content-addressed key `<sha256>.raw`, bytes as described. */
export async function assertRawIntermediate(ref: ImageRef) {
  assert.equal(ref.format, 'raw');
  assert.match(ref.key, /^[0-9a-f]{64}\.raw$/);
  const blob = await store.get(ref.key);
  assert.equal(ref.key, `${sha256(blob)}.raw`, 'the key is the sha256 of the stored pixels');
  assert.equal(ref.sha256, sha256(blob));
  assert.equal(ref.bytes, blob.length);
  assert.equal(blob.length, ref.width * ref.height * ref.channels);
}

/** Expects a non-retryable InvalidInput ApplicationFailure whose message mentions every one of `parts`. */
export async function assertInvalidInput(promise: Promise<unknown>, ...parts: string[]): Promise<ApplicationFailure> {
  let caught: unknown;
  await assert.rejects(promise, (err: unknown) => {
    caught = err;
    return true;
  });
  return assertIsInvalidInput(caught, parts);
}

/**
 * `activity` refuses `input` with InvalidInput naming every one of `parts`, on its first attempt, before any work
 * (no heartbeat) and without storing anything.
 */
export async function assertRefusedUpFront(
  activity: (input: never) => Promise<unknown>,
  input: unknown,
  ...parts: string[]
): Promise<void> {
  const blobs = await countBlobs();
  const env = newEnv();
  let heartbeats = 0;
  env.on('heartbeat', () => heartbeats++);
  await assertInvalidInput(env.run(activity, input as never), ...parts);
  assert.equal(await countBlobs(), blobs, 'no blob was written');
  assert.equal(heartbeats, 0, 'rejected before any work started');
}

export const countBlobs = (): Promise<number> => countFiles(root);

// ---------------------------------------------------------------------------------------------------------------
// Sources: each filter runs on each of these

export type SourceName = 'PNG original' | 'JPEG original' | 'raw intermediate';
export const SOURCES: SourceName[] = ['PNG original', 'JPEG original', 'raw intermediate'];
/** How far a colour may drift from the drawn one: JPEG is lossy, the others are exact. */
export const TOLERANCE: Record<SourceName, number> = { 'PNG original': 2, 'JPEG original': 14, 'raw intermediate': 2 };

export const sources = {} as Record<SourceName, ImageRef>;
export const sourcePixels = {} as Record<SourceName, Pixels>;

before(async () => {
  const raw = { raw: { width: W, height: H, channels: 3 as const } };
  sources['PNG original'] = await storeOriginal(await sharp(quadrantPixels(), raw).png().toBuffer());
  sources['JPEG original'] = await storeOriginal(await sharp(quadrantPixels(), raw).jpeg({ quality: 95 }).toBuffer());
  // A real intermediate, as the previous step of a chain leaves it: an identity crop of the PNG.
  sources['raw intermediate'] = await run('crop', sources['PNG original'], { left: 0, top: 0, width: W, height: H });
  for (const name of SOURCES) sourcePixels[name] = await decode(sources[name]);
});

/**
 * What a family's "every filter on every source" loop needs about one source. Accessors, because the sources are
 * stored in a `before` hook, after the describe blocks that use them are defined.
 */
export function onSource(source: SourceName) {
  return { src: () => sources[source], srcPx: () => sourcePixels[source], tol: TOLERANCE[source] };
}
