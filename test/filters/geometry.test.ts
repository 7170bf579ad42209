import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import sharp from 'sharp';
import { createFilterActivities, type FilterActivities } from '../../activities/filters/activities';
import { filterNames, type FilterName } from '../../src/common/filter-catalog';
import type { ImageRef, OutputFormat } from '../../src/common/types';
import { FileBlobStore, sha256 } from '../../src/lib/blob-store';
import { canvas, grayscalePng, jpeg, pngWithAlpha } from '../support/images';

/*
 * Every filter activity, run as Temporal runs it (MockActivityEnvironment: activity context, heartbeats, failures)
 * against a real blob store in a temp dir, on generated images whose pixels are known, so each test can say what
 * the filter must have done to them.
 */

// ---------------------------------------------------------------------------------------------------------------
// Test images

type RGB = [number, number, number];
const RED: RGB = [255, 0, 0];
const GREEN: RGB = [0, 255, 0];
const BLUE: RGB = [0, 0, 255];
const GREY: RGB = [128, 128, 128];
const WHITE: RGB = [255, 255, 255];

/** 64x48 (landscape, so rotations and aspect ratios show): red | green over blue | grey, a white top-left pixel. */
const W = 64;
const H = 48;
function quadrantColor(x: number, y: number): RGB {
  if (x === 0 && y === 0) return WHITE;
  if (y < H / 2) return x < W / 2 ? RED : GREEN;
  return x < W / 2 ? BLUE : GREY;
}
function quadrantPixels(): Buffer {
  const data = Buffer.alloc(W * H * 3);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) data.set(quadrantColor(x, y), (y * W + x) * 3);
  return data;
}
/** Centres of the quadrants, far enough from every edge that blurs and JPEG's chroma subsampling leave them be. */
const CENTRE = { tl: [16, 12], tr: [48, 12], bl: [16, 36], br: [48, 36] } as const;

const logger = new DefaultLogger('ERROR');
const newEnv = () => new MockActivityEnvironment(undefined, { logger });

// ---------------------------------------------------------------------------------------------------------------
// Store, activities and helpers

let root: string;
let store: FileBlobStore;
let activities: FilterActivities;

before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'nano-photos-filters-'));
  store = new FileBlobStore(root);
  activities = createFilterActivities({ store });
});
after(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

function run(filter: FilterName, image: ImageRef, params?: Record<string, unknown>, env = newEnv()): Promise<ImageRef> {
  return env.run(activities[filter], { image, params });
}

/** Stores an encoded original as the upload activity would, and returns its reference. */
async function storeOriginal(data: Buffer): Promise<ImageRef> {
  const meta = await sharp(data).metadata();
  const format = meta.format === 'heif' ? 'avif' : meta.format;
  const ext = format === 'jpeg' ? 'jpg' : format!;
  const blob = await store.put(data, ext);
  // As upload reports them: the dimensions as displayed, after the EXIF orientation.
  const { width, height } = meta.autoOrient;
  return { ...blob, format: format as ImageRef['format'], width, height, channels: meta.channels! };
}

async function storeRawPixels(data: Buffer, width: number, height: number, channels: number): Promise<ImageRef> {
  const blob = await store.put(data, 'raw');
  return { ...blob, format: 'raw', width, height, channels };
}

interface Pixels {
  width: number;
  height: number;
  channels: number;
  data: Buffer;
  /** The pixel's colour channels (alpha dropped). */
  rgb(x: number, y: number): RGB;
  alpha(x: number, y: number): number;
}

/** Decodes a stored image (raw or encoded) to 8-bit sRGB pixels. */
async function decode(ref: ImageRef): Promise<Pixels> {
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

function assertColor(actual: RGB, expected: RGB, tolerance: number, what: string) {
  const off = actual.some((v, i) => Math.abs(v - expected[i]) > tolerance);
  assert.ok(!off, `${what}: expected about rgb(${expected}) (±${tolerance}), got rgb(${actual})`);
}

const luma = ([r, g, b]: RGB) => 0.2126 * r + 0.7152 * g + 0.0722 * b;

/** Asserts every pixel of `out` equals the pixel of `src` that `from` maps it to (exact geometric filters). */
function assertMapped(out: Pixels, src: Pixels, from: (x: number, y: number) => [number, number], what: string) {
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
async function assertRawIntermediate(ref: ImageRef) {
  assert.equal(ref.format, 'raw');
  assert.match(ref.key, /^[0-9a-f]{64}\.raw$/);
  const blob = await store.get(ref.key);
  assert.equal(ref.key, `${sha256(blob)}.raw`, 'the key is the sha256 of the stored pixels');
  assert.equal(ref.sha256, sha256(blob));
  assert.equal(ref.bytes, blob.length);
  assert.equal(blob.length, ref.width * ref.height * ref.channels);
}

/** Expects a non-retryable InvalidInput ApplicationFailure whose message mentions every one of `parts`. */
async function assertInvalidInput(promise: Promise<unknown>, ...parts: string[]): Promise<ApplicationFailure> {
  let caught: unknown;
  await assert.rejects(promise, (err: unknown) => {
    caught = err;
    return true;
  });
  assert.ok(caught instanceof ApplicationFailure, `expected an ApplicationFailure, got ${String(caught)}`);
  assert.equal(caught.nonRetryable, true, `non-retryable: ${caught.message}`);
  assert.equal(caught.type, 'InvalidInput');
  for (const part of parts) {
    assert.ok(
      caught.message.includes(part),
      `message ${JSON.stringify(caught.message)} should mention ${JSON.stringify(part)}`,
    );
  }
  return caught;
}

async function countBlobs(): Promise<number> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).length;
}

// ---------------------------------------------------------------------------------------------------------------
// Sources: each filter runs on each of these

type SourceName = 'PNG original' | 'JPEG original' | 'raw intermediate';
const SOURCES: SourceName[] = ['PNG original', 'JPEG original', 'raw intermediate'];
/** How far a colour may drift from the drawn one: JPEG is lossy, the others are exact. */
const TOLERANCE: Record<SourceName, number> = { 'PNG original': 2, 'JPEG original': 14, 'raw intermediate': 2 };

const sources = {} as Record<SourceName, ImageRef>;
const sourcePixels = {} as Record<SourceName, Pixels>;

before(async () => {
  const raw = { raw: { width: W, height: H, channels: 3 as const } };
  sources['PNG original'] = await storeOriginal(await sharp(quadrantPixels(), raw).png().toBuffer());
  sources['JPEG original'] = await storeOriginal(await sharp(quadrantPixels(), raw).jpeg({ quality: 95 }).toBuffer());
  // A real intermediate, as the previous step of a chain leaves it: an identity crop of the PNG.
  sources['raw intermediate'] = await run('crop', sources['PNG original'], { left: 0, top: 0, width: W, height: H });
  for (const name of SOURCES) sourcePixels[name] = await decode(sources[name]);
});

describe('test images', () => {
  it('are stored as PNG, JPEG and a raw intermediate with the drawn pixels', async () => {
    assert.equal(sources['PNG original'].format, 'png');
    assert.match(sources['PNG original'].key, /^[0-9a-f]{64}\.png$/);
    assert.equal(sources['JPEG original'].format, 'jpeg');
    assert.match(sources['JPEG original'].key, /^[0-9a-f]{64}\.jpg$/);
    await assertRawIntermediate(sources['raw intermediate']);
    assert.deepEqual(sourcePixels['raw intermediate'].data, quadrantPixels(), 'the identity crop kept every pixel');
    for (const name of SOURCES) {
      const px = sourcePixels[name];
      assert.deepEqual([px.width, px.height], [W, H]);
      assertColor(px.rgb(...CENTRE.tl), RED, TOLERANCE[name], `${name} top-left`);
      assertColor(px.rgb(...CENTRE.tr), GREEN, TOLERANCE[name], `${name} top-right`);
      assertColor(px.rgb(...CENTRE.bl), BLUE, TOLERANCE[name], `${name} bottom-left`);
      assertColor(px.rgb(...CENTRE.br), GREY, TOLERANCE[name], `${name} bottom-right`);
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Every filter on every source

for (const source of SOURCES) {
  describe(`filters on a ${source}`, () => {
    const src = () => sources[source];
    const srcPx = () => sourcePixels[source];
    const tol = TOLERANCE[source];

    it('resize: fit inside keeps the aspect ratio; fill, height-only and withoutEnlargement as specified', async () => {
      const half = await run('resize', src(), { width: 32 });
      await assertRawIntermediate(half);
      const px = await decode(half);
      assert.deepEqual([px.width, px.height], [32, 24]);
      assertColor(px.rgb(8, 6), RED, tol + 4, 'scaled top-left');
      assertColor(px.rgb(24, 6), GREEN, tol + 4, 'scaled top-right');
      assertColor(px.rgb(8, 18), BLUE, tol + 4, 'scaled bottom-left');
      assertColor(px.rgb(24, 18), GREY, tol + 4, 'scaled bottom-right');

      const inside = await decode(await run('resize', src(), { width: 32, height: 32 }));
      assert.deepEqual([inside.width, inside.height], [32, 24], 'fit inside (the default) keeps 4:3');
      const byHeight = await decode(await run('resize', src(), { height: 12 }));
      assert.deepEqual([byHeight.width, byHeight.height], [16, 12]);
      const fill = await decode(await run('resize', src(), { width: 32, height: 32, fit: 'fill' }));
      assert.deepEqual([fill.width, fill.height], [32, 32], 'fit fill stretches');
      const bigger = await decode(await run('resize', src(), { width: 128 }));
      assert.deepEqual([bigger.width, bigger.height], [128, 96]);
      const notBigger = await decode(await run('resize', src(), { width: 128, withoutEnlargement: true }));
      assert.deepEqual([notBigger.width, notBigger.height], [W, H], 'withoutEnlargement keeps the size');
    });

    it('crop: returns exactly the pixels of the rectangle', async () => {
      const rect = { left: 10, top: 6, width: 40, height: 30 };
      const out = await run('crop', src(), rect);
      await assertRawIntermediate(out);
      const px = await decode(out);
      assert.deepEqual([px.width, px.height], [40, 30]);
      assertMapped(px, srcPx(), (x, y) => [x + rect.left, y + rect.top], 'crop');
      // A rectangle flush with the bottom-right corner still lies within the image.
      const corner = await decode(await run('crop', src(), { left: W - 8, top: H - 8, width: 8, height: 8 }));
      assertMapped(corner, srcPx(), (x, y) => [x + W - 8, y + H - 8], 'corner crop');
    });

    it('crop: a rectangle outside the image fails non-retryably, naming the rectangle and the image size', async () => {
      await assertInvalidInput(
        run('crop', src(), { left: 40, top: 0, width: 30, height: 10 }),
        'crop',
        'left=40 top=0 width=30 height=10',
        `${W}x${H}`,
      );
      await assertInvalidInput(
        run('crop', src(), { left: 0, top: 40, width: 10, height: 9 }),
        'crop',
        'left=0 top=40 width=10 height=9',
        `${W}x${H}`,
      );
    });

    it('rotate 90: width and height swap and every pixel moves a quarter turn clockwise', async () => {
      const out = await run('rotate', src(), { angle: 90 });
      await assertRawIntermediate(out);
      const px = await decode(out);
      assert.deepEqual([px.width, px.height], [H, W]);
      // Clockwise: the top-left corner goes to the top-right, the bottom-left to the top-left.
      assert.deepEqual(px.rgb(H - 1, 0), srcPx().rgb(0, 0), 'the top-left corner pixel is now top-right');
      if (source !== 'JPEG original') assert.deepEqual(px.rgb(H - 1, 0), WHITE);
      assertColor(px.rgb(H - 13, 16), RED, tol, 'red quadrant now top-right');
      assertColor(px.rgb(12, 16), BLUE, tol, 'blue quadrant now top-left');
      assertColor(px.rgb(H - 13, W - 17), GREEN, tol, 'green quadrant now bottom-right');
      assertColor(px.rgb(12, W - 17), GREY, tol, 'grey quadrant now bottom-left');
      assertMapped(px, srcPx(), (x, y) => [y, H - 1 - x], 'rotate 90');

      const back = await decode(await run('rotate', src(), { angle: -90 }));
      assertMapped(back, srcPx(), (x, y) => [W - 1 - y, x], 'rotate -90');
    });

    it('rotate 45: the canvas grows and the corners are filled with the background colour', async () => {
      const px = await decode(await run('rotate', src(), { angle: 45, background: '#00ff00' }));
      assert.ok(px.width > W && px.height > W, `rotated canvas ${px.width}x${px.height} is larger than the image`);
      for (const [x, y] of [
        [0, 0],
        [px.width - 1, 0],
        [0, px.height - 1],
        [px.width - 1, px.height - 1],
      ] as const) {
        assertColor(px.rgb(x, y), GREEN, 1, `corner (${x},${y})`);
      }
    });

    it('flip: rows are mirrored top to bottom', async () => {
      const out = await run('flip', src());
      await assertRawIntermediate(out);
      const px = await decode(out);
      assert.deepEqual([px.width, px.height], [W, H]);
      assertMapped(px, srcPx(), (x, y) => [x, H - 1 - y], 'flip');
      assert.deepEqual(px.rgb(0, H - 1), srcPx().rgb(0, 0));
      assertColor(px.rgb(...CENTRE.tl), BLUE, tol, 'blue is on top');
    });

    it('flop: columns are mirrored left to right', async () => {
      const out = await run('flop', src(), {});
      await assertRawIntermediate(out);
      const px = await decode(out);
      assert.deepEqual([px.width, px.height], [W, H]);
      assertMapped(px, srcPx(), (x, y) => [W - 1 - x, y], 'flop');
      assert.deepEqual(px.rgb(W - 1, 0), srcPx().rgb(0, 0));
      assertColor(px.rgb(...CENTRE.tl), GREEN, tol, 'green is on the left');
    });

    it('grayscale: every pixel has R=G=B, and brightness follows luminance', async () => {
      const out = await run('grayscale', src());
      await assertRawIntermediate(out);
      const px = await decode(out);
      assert.deepEqual([px.width, px.height], [W, H]);
      for (let y = 0; y < H; y++) {
        for (let x = 0; x < W; x++) {
          const [r, g, b] = px.rgb(x, y);
          if (r !== g || g !== b) assert.fail(`pixel (${x},${y}) is rgb(${r},${g},${b}), not grey`);
        }
      }
      const [red] = px.rgb(...CENTRE.tl);
      const [green] = px.rgb(...CENTRE.tr);
      const [blue] = px.rgb(...CENTRE.bl);
      const [grey] = px.rgb(...CENTRE.br);
      assert.ok(green > red && red > blue, `green ${green} > red ${red} > blue ${blue} in luminance`);
      assert.ok(Math.abs(grey - 128) <= tol + 2, `mid-grey stays mid-grey, got ${grey}`);
    });

    it('sepia: pure blue becomes a warm tone (R > G > B), as does grey', async () => {
      const out = await run('sepia', src());
      await assertRawIntermediate(out);
      const px = await decode(out);
      assert.deepEqual([px.width, px.height], [W, H]);
      for (const [name, at] of [
        ['blue', CENTRE.bl],
        ['grey', CENTRE.br],
        ['red', CENTRE.tl],
        ['green', CENTRE.tr],
      ] as const) {
        const [r, g, b] = px.rgb(at[0], at[1]);
        assert.ok(r > g && g > b, `${name} became rgb(${r},${g},${b}), expected R > G > B`);
      }
      // The sepia matrix on pure blue: (0.189, 0.168, 0.131) * 255.
      assertColor(px.rgb(...CENTRE.bl), [48, 43, 33], tol, 'sepia blue');
    });

    it('blur: a sharp edge gets intermediate values, flat areas stay', async () => {
      const out = await run('blur', src(), { sigma: 3 });
      await assertRawIntermediate(out);
      const px = await decode(out);
      assert.deepEqual([px.width, px.height], [W, H]);
      // Red | green edge between x=31 and x=32 on row 12: before, R is ~255 then ~0.
      for (const x of [30, 31, 32, 33]) {
        const [r, g] = px.rgb(x, 12);
        assert.ok(
          r > 40 && r < 215 && g > 40 && g < 215,
          `edge pixel (${x},12) is rgb(${px.rgb(x, 12)}), expected a red-green mix`,
        );
      }
      const [r30] = px.rgb(30, 12);
      const [r33] = px.rgb(33, 12);
      assert.ok(r30 > r33, 'red still fades from left to right');
      assertColor(px.rgb(...CENTRE.tl), srcPx().rgb(...CENTRE.tl), 4, 'flat red centre');
      assertColor(px.rgb(...CENTRE.br), srcPx().rgb(...CENTRE.br), 4, 'flat grey centre');
    });

    it('sharpen: contrast across an edge increases', async () => {
      const out = await run('sharpen', src(), { sigma: 1 });
      await assertRawIntermediate(out);
      const px = await decode(out);
      assert.deepEqual([px.width, px.height], [W, H]);
      // Blue | grey edge between x=31 and x=32 on row 36: grey is the lighter side.
      const contrast = (p: Pixels) => luma(p.rgb(32, 36)) - luma(p.rgb(31, 36));
      const before = contrast(srcPx());
      const afterSharpen = contrast(px);
      assert.ok(
        afterSharpen > before + 10,
        `edge contrast ${before.toFixed(1)} grew to only ${afterSharpen.toFixed(1)}`,
      );
      assert.ok(luma(px.rgb(32, 36)) > luma(srcPx().rgb(32, 36)) + 5, 'the light side of the edge gets lighter');
      assertColor(px.rgb(...CENTRE.br), srcPx().rgb(...CENTRE.br), 3, 'flat grey centre');
    });

    it('modulate: brightness 2 brightens mid-grey, hue rotates a colour, saturation 0 greys it', async () => {
      const bright = await run('modulate', src(), { brightness: 2 });
      await assertRawIntermediate(bright);
      const bpx = await decode(bright);
      assert.deepEqual([bpx.width, bpx.height], [W, H]);
      const before = srcPx().rgb(...CENTRE.br);
      const grey = bpx.rgb(...CENTRE.br);
      assert.ok(
        grey.every((v, i) => v > before[i] + 60),
        `mid-grey rgb(${before}) only became rgb(${grey})`,
      );

      const hue = await decode(await run('modulate', src(), { hue: 120 }));
      const [r, g, b] = hue.rgb(...CENTRE.tl);
      assert.ok(g > r + 60 && g > b, `red turned by 120° should be greenish, got rgb(${r},${g},${b})`);
      assertColor(hue.rgb(...CENTRE.br), srcPx().rgb(...CENTRE.br), 3, 'grey has no hue to turn');

      const dull = await decode(await run('modulate', src(), { saturation: 0 }));
      const [dr, dg, db] = dull.rgb(...CENTRE.tl);
      assert.ok(
        Math.max(dr, dg, db) - Math.min(dr, dg, db) <= 3,
        `red without saturation is grey, got rgb(${dr},${dg},${db})`,
      );
    });

    it('tint: colours towards the tint, keeping luminance', async () => {
      const out = await run('tint', src(), { color: '#0000ff' });
      await assertRawIntermediate(out);
      const px = await decode(out);
      assert.deepEqual([px.width, px.height], [W, H]);
      const [r, g, b] = px.rgb(...CENTRE.br);
      assert.ok(b > r + 60 && b > g + 60, `grey tinted blue is rgb(${r},${g},${b})`);
      const [rr, rg, rb] = px.rgb(...CENTRE.tl);
      assert.ok(rb > rg, `red tinted blue turns purple, got rgb(${rr},${rg},${rb})`);
      // Luminance ordering survives: green is still the lightest quadrant.
      assert.ok(luma(px.rgb(...CENTRE.tr)) > luma(px.rgb(...CENTRE.tl)), 'green stays lighter than red');
    });

    it('watermark: draws in the chosen corner only', async () => {
      const out = await run('watermark', src(), {
        text: 'W',
        size: 30,
        opacity: 1,
        color: '#ffffff',
        gravity: 'southeast',
      });
      await assertRawIntermediate(out);
      const px = await decode(out);
      assert.deepEqual([px.width, px.height], [W, H]);
      let changed = 0;
      for (let y = 0; y < H; y++) {
        for (let x = 0; x < W; x++) {
          const a = px.rgb(x, y);
          const b = srcPx().rgb(x, y);
          if (a.some((v, i) => Math.abs(v - b[i]) > 2)) {
            changed++;
            assert.ok(
              x >= W / 2 && y >= H / 2,
              `pixel (${x},${y}) outside the southeast corner changed: rgb(${b}) → rgb(${a})`,
            );
          }
        }
      }
      assert.ok(changed >= 10, `only ${changed} pixels of text were drawn`);
    });

    it('thumbnail: a square of the given size, covering the square (no bars)', async () => {
      const out = await run('thumbnail', src(), { size: 32 });
      await assertRawIntermediate(out);
      const px = await decode(out);
      assert.deepEqual([px.width, px.height], [32, 32]);
      // Landscape source, cover fit: the full height is kept, top row red/green, bottom row blue/grey.
      for (const x of [2, 29]) {
        const top = px.rgb(x, 1);
        const bottom = px.rgb(x, 30);
        assert.ok(top[0] > 200 || top[1] > 200, `top row pixel (${x},1) is rgb(${top}), expected red or green`);
        assert.ok(
          bottom[2] > 110 && bottom[1] < 160,
          `bottom row pixel (${x},30) is rgb(${bottom}), expected blue or grey`,
        );
      }
      const big = await decode(await run('thumbnail', src()));
      assert.deepEqual([big.width, big.height], [256, 256], 'the default size is 256');
    });

    for (const format of ['jpeg', 'png', 'webp', 'avif'] as OutputFormat[]) {
      it(`output ${format}: the stored blob decodes as ${format} with the same size`, async () => {
        const out = await run('output', src(), { format, quality: 90 });
        const ext = format === 'jpeg' ? 'jpg' : format;
        assert.equal(out.format, format);
        assert.match(out.key, new RegExp(`^[0-9a-f]{64}\\.${ext}$`));
        const blob = await store.get(out.key);
        assert.equal(out.key, `${sha256(blob)}.${ext}`, 'content-addressed');
        assert.equal(out.bytes, blob.length);
        const meta = await sharp(blob).metadata();
        assert.equal(meta.format, format === 'avif' ? 'heif' : format);
        if (format === 'avif') assert.equal(meta.compression, 'av1');
        assert.deepEqual([meta.width, meta.height, out.width, out.height], [W, H, W, H]);
        const px = await decode(out);
        const lossy = format === 'png' ? tol : tol + 20;
        assertColor(px.rgb(...CENTRE.tl), RED, lossy, 'encoded red');
        assertColor(px.rgb(...CENTRE.br), GREY, lossy, 'encoded grey');
        if (format === 'png') assertMapped(px, srcPx(), (x, y) => [x, y], 'lossless PNG');
      });
    }
  });
}

// ---------------------------------------------------------------------------------------------------------------

describe('output', () => {
  it('defaults to the original format, PNG for raw intermediates', async () => {
    assert.equal((await run('output', sources['JPEG original'])).format, 'jpeg');
    assert.equal((await run('output', sources['PNG original'], { quality: 50 })).format, 'png');
    const fromRaw = await run('output', sources['raw intermediate']);
    assert.equal(fromRaw.format, 'png');
    assert.equal((await sharp(await store.get(fromRaw.key)).metadata()).format, 'png');
  });

  it('quality changes the size of lossy output', async () => {
    const photo = await storeOriginal(await canvas({ width: 160, height: 120 }).png().toBuffer());
    const low = await run('output', photo, { format: 'jpeg', quality: 10 });
    const high = await run('output', photo, { format: 'jpeg', quality: 95 });
    assert.ok(
      low.bytes < high.bytes / 2,
      `quality 10 (${low.bytes} bytes) should be far smaller than 95 (${high.bytes})`,
    );
  });
});

describe('chains of raw intermediates', () => {
  it('blur then sharpen: sharpening steepens the blurred edge', async () => {
    const blurred = await run('blur', sources['PNG original'], { sigma: 2 });
    const sharpened = await run('sharpen', blurred, { sigma: 2 });
    await assertRawIntermediate(sharpened);
    const b = await decode(blurred);
    const s = await decode(sharpened);
    const step = (p: Pixels) => luma(p.rgb(32, 36)) - luma(p.rgb(31, 36));
    assert.ok(step(s) > step(b) + 3, `edge step ${step(b).toFixed(1)} only became ${step(s).toFixed(1)}`);
  });

  it('grayscale then tint: the tint colours the grey intermediate', async () => {
    const grey = await run('grayscale', sources['PNG original']);
    const tinted = await decode(await run('tint', grey, { color: '#ff8800' }));
    const [r, g, b] = tinted.rgb(...CENTRE.br);
    assert.ok(r > g && g > b && r - b > 40, `grey tinted orange is rgb(${r},${g},${b})`);
  });

  it('grayscale then sepia: an old photo', async () => {
    const grey = await run('grayscale', sources['JPEG original']);
    const old = await decode(await run('sepia', grey));
    const [r, g, b] = old.rgb(...CENTRE.br);
    assert.ok(r > g && g > b, `grey in sepia is rgb(${r},${g},${b})`);
  });

  it('grayscale then rotate 45: the corners get the background colour', async () => {
    const grey = await run('grayscale', sources['PNG original']);
    const rotated = await decode(await run('rotate', grey, { angle: 45, background: '#00ff00' }));
    assertColor(rotated.rgb(0, 0), GREEN, 1, 'corner of a rotated grey image');
  });

  it('grayscale then watermark: coloured text on a grey image', async () => {
    const grey = await run('grayscale', sources['PNG original']);
    const marked = await decode(
      await run('watermark', grey, { text: 'WW', size: 40, opacity: 1, color: '#ff0000', gravity: 'center' }),
    );
    let red = 0;
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) if (marked.rgb(x, y)[0] > marked.rgb(x, y)[1] + 100) red++;
    assert.ok(red >= 10, `only ${red} red pixels of text`);
  });

  it('an RGBA intermediate keeps its alpha through colour filters', async () => {
    const data = Buffer.alloc(16 * 16 * 4);
    for (let i = 0; i < 16 * 16; i++) data.set([0, 0, 255, i < 128 ? 255 : 64], i * 4);
    const rgba = await storeRawPixels(data, 16, 16, 4);
    for (const filter of ['sepia', 'grayscale', 'tint', 'modulate'] as const) {
      const params = filter === 'tint' ? { color: '#ff0000' } : filter === 'modulate' ? { brightness: 1.5 } : undefined;
      const out = await run(filter, rgba, params);
      await assertRawIntermediate(out);
      const px = await decode(out);
      assert.equal(px.alpha(3, 2), 255, `${filter}: opaque pixel stays opaque`);
      assert.equal(px.alpha(3, 12), 64, `${filter}: translucent pixel keeps its alpha`);
    }
  });
});

describe('other originals', () => {
  it('a single-channel greyscale original can be tinted and rotated onto a coloured background', async () => {
    const grey = await storeOriginal(await grayscalePng());
    assert.equal(grey.channels, 1);
    const tinted = await decode(await run('tint', grey, { color: '#ff8800' }));
    let warm = 0;
    for (let y = 0; y < tinted.height; y++) {
      for (let x = 0; x < tinted.width; x++) {
        const [r, , b] = tinted.rgb(x, y);
        if (r > b + 20) warm++;
      }
    }
    assert.ok(warm > (tinted.width * tinted.height) / 2, `only ${warm} pixels took the orange tint`);
    const rotated = await decode(await run('rotate', grey, { angle: 30, background: '#0000ff' }));
    assertColor(rotated.rgb(0, 0), BLUE, 1, 'background of a rotated greyscale original');
    const marked = await decode(
      await run('watermark', grey, { text: 'WW', size: 40, opacity: 1, color: '#ff0000', gravity: 'center' }),
    );
    let red = 0;
    for (let y = 0; y < marked.height; y++) {
      for (let x = 0; x < marked.width; x++) if (marked.rgb(x, y)[0] > marked.rgb(x, y)[1] + 100) red++;
    }
    assert.ok(red >= 10, `only ${red} red pixels of text`);
  });

  it('an original with transparency keeps it through grayscale and into PNG output', async () => {
    const original = await storeOriginal(await pngWithAlpha());
    const before = await decode(original);
    assert.equal(before.channels, 4);
    const grey = await run('grayscale', original);
    await assertRawIntermediate(grey);
    const px = await decode(grey);
    let translucent = 0;
    for (let y = 0; y < px.height; y++) {
      for (let x = 0; x < px.width; x++) {
        assert.equal(px.alpha(x, y), before.alpha(x, y), `alpha at (${x},${y})`);
        if (px.alpha(x, y) < 255) translucent++;
        const [r, g, b] = px.rgb(x, y);
        if (r !== g || g !== b) assert.fail(`pixel (${x},${y}) is rgb(${r},${g},${b}), not grey`);
      }
    }
    assert.ok(translucent > 0, 'the test image has translucent pixels');
    const output = await run('output', grey, { format: 'png' });
    const encoded = await decode(output);
    assert.ok(encoded.channels === 2 || encoded.channels === 4, `PNG output has alpha (${encoded.channels} channels)`);
    for (let y = 0; y < px.height; y++) {
      for (let x = 0; x < px.width; x++)
        assert.equal(encoded.alpha(x, y), before.alpha(x, y), `PNG alpha at (${x},${y})`);
    }
  });

  it('an EXIF-rotated JPEG is filtered upright: crop bounds are those of the displayed image', async () => {
    const rotated = await storeOriginal(await jpeg({ width: 64, height: 48 }, 6));
    assert.deepEqual([rotated.width, rotated.height], [48, 64], 'orientation 6 displays 48x64');
    const whole = await decode(await run('crop', rotated, { width: 48, height: 64 }));
    assert.deepEqual([whole.width, whole.height], [48, 64]);
    const upright = await sharp(await store.get(rotated.key))
      .autoOrient()
      .raw()
      .toBuffer();
    assert.deepEqual(whole.data, upright, 'the crop holds the upright pixels');
    await assertInvalidInput(run('crop', rotated, { width: 64, height: 48 }), 'crop', 'width=64 height=48', '48x64');
    const out = await run('output', rotated, { format: 'png' });
    assert.deepEqual([out.width, out.height], [48, 64]);
  });

  it('GIF and WebP originals are read and written', async () => {
    for (const format of ['gif', 'webp', 'tiff'] as const) {
      const original = await storeOriginal(await canvas().toFormat(format).toBuffer());
      assert.equal(original.format, format);
      const flipped = await run('flip', original);
      assert.deepEqual([flipped.width, flipped.height], [64, 48]);
      const out = await run('output', flipped);
      assert.equal(out.format, 'png', `a raw intermediate from ${format} defaults to PNG`);
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('watermark', () => {
  const MW = 240;
  const MH = 160;
  let plain: ImageRef;
  let plainPx: Pixels;
  before(async () => {
    plain = await storeOriginal(
      await sharp({ create: { width: MW, height: MH, channels: 3, background: '#203040' } })
        .png()
        .toBuffer(),
    );
    plainPx = await decode(plain);
  });

  /** The bounding box of pixels the watermark changed. */
  async function changedBox(params: Record<string, unknown>) {
    const px = await decode(await run('watermark', plain, params));
    assert.deepEqual([px.width, px.height], [MW, MH]);
    let [left, top, right, bottom, count] = [MW, MH, -1, -1, 0];
    for (let y = 0; y < MH; y++) {
      for (let x = 0; x < MW; x++) {
        const a = px.rgb(x, y);
        const b = plainPx.rgb(x, y);
        if (a.some((v, i) => Math.abs(v - b[i]) > 2)) {
          count++;
          [left, top, right, bottom] = [Math.min(left, x), Math.min(top, y), Math.max(right, x), Math.max(bottom, y)];
        }
      }
    }
    assert.ok(count > 20, `the text changed only ${count} pixels`);
    return { left, top, right, bottom, count };
  }

  const corners = {
    southeast: (b: Box) => b.left >= MW / 2 && b.top >= MH / 2,
    southwest: (b: Box) => b.right < MW / 2 && b.top >= MH / 2,
    northeast: (b: Box) => b.left >= MW / 2 && b.bottom < MH / 2,
    northwest: (b: Box) => b.right < MW / 2 && b.bottom < MH / 2,
    center: (b: Box) => b.left > MW / 4 && b.right < (3 * MW) / 4 && b.top > MH / 4 && b.bottom < (3 * MH) / 4,
  };
  type Box = Awaited<ReturnType<typeof changedBox>>;

  for (const [gravity, inCorner] of Object.entries(corners)) {
    it(`gravity ${gravity}: only pixels there change`, async () => {
      const box = await changedBox({ text: 'nano', gravity, size: 15, opacity: 1 });
      assert.ok(inCorner(box), `changed pixels span ${JSON.stringify(box)} in a ${MW}x${MH} image`);
    });
  }

  it('draws text with <&> and quotes as text', async () => {
    const plainText = await changedBox({ text: 'ab', gravity: 'northwest', size: 15, opacity: 1 });
    const markup = await changedBox({ text: `a<&>"'b`, gravity: 'northwest', size: 15, opacity: 1 });
    assert.ok(
      markup.right - markup.left > plainText.right - plainText.left + 20,
      `the markup characters were drawn: ${JSON.stringify(markup)} vs ${JSON.stringify(plainText)}`,
    );
    // Not a tag that closes the SVG early: text that would break the overlay if pasted in raw.
    await changedBox({ text: '</text></svg><svg>&amp;', gravity: 'southwest', size: 10, opacity: 1 });
  });

  it('size scales the text with the image and opacity 0 draws nothing', async () => {
    const small = await changedBox({ text: 'nano', size: 10, opacity: 1 });
    const large = await changedBox({ text: 'nano', size: 25, opacity: 1 });
    assert.ok(large.bottom - large.top > 2 * (small.bottom - small.top), 'size 25 is much taller than size 10');
    const invisible = await decode(await run('watermark', plain, { text: 'nano', opacity: 0 }));
    for (let y = 0; y < MH; y += 3) {
      for (let x = 0; x < MW; x += 3)
        assertColor(invisible.rgb(x, y), plainPx.rgb(x, y), 1, `opacity 0 at (${x},${y})`);
    }
  });

  it('colour and opacity: half-opaque red text blends with the background', async () => {
    const px = await decode(
      await run('watermark', plain, { text: 'IIII', size: 40, opacity: 0.5, color: '#ff0000', gravity: 'center' }),
    );
    let blended = 0;
    for (let y = 0; y < MH; y++) {
      for (let x = 0; x < MW; x++) {
        const [r, g, b] = px.rgb(x, y);
        // Background #203040 half-way to #ff0000: about rgb(143, 24, 32).
        if (Math.abs(r - 143) <= 12 && g < 40 && b < 45) blended++;
      }
    }
    assert.ok(blended > 20, `only ${blended} pixels are half-way between background and red`);
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('bad input fails at once, non-retryably', () => {
  const cases: { name: string; filter: FilterName; params: unknown; parts: string[] }[] = [
    {
      name: 'unknown parameter',
      filter: 'resize',
      params: { width: 10, colour: 'red' },
      parts: ['resize', '"colour"', 'width, height, fit, withoutEnlargement'],
    },
    {
      name: 'unknown parameter of a filter without any',
      filter: 'grayscale',
      params: { amount: 1 },
      parts: ['grayscale', '"amount"', 'no parameters'],
    },
    {
      name: 'unknown parameter named like an Object method',
      filter: 'resize',
      params: { width: 10, constructor: 1 },
      parts: ['resize', '"constructor"'],
    },
    {
      name: 'unknown parameter toString',
      filter: 'blur',
      params: { toString: 'x' },
      parts: ['blur', '"toString"', 'sigma'],
    },
    {
      name: 'missing required crop height',
      filter: 'crop',
      params: { width: 10 },
      parts: ['crop', 'missing required parameter height', 'an integer between 1 and 16384'],
    },
    {
      name: 'missing required tint colour',
      filter: 'tint',
      params: {},
      parts: ['tint', 'missing required parameter color', 'hex colour'],
    },
    {
      name: 'missing required watermark text',
      filter: 'watermark',
      params: undefined,
      parts: ['watermark', 'missing required parameter text', 'at most 200 characters'],
    },
    {
      name: 'missing required rotate angle',
      filter: 'rotate',
      params: { background: '#fff' },
      parts: ['rotate', 'angle', 'a number between -360 and 360'],
    },
    {
      name: 'resize without width or height',
      filter: 'resize',
      params: { fit: 'cover' },
      parts: ['resize', 'width or height'],
    },
    {
      name: 'resize width 0',
      filter: 'resize',
      params: { width: 0 },
      parts: ['resize', 'width', 'an integer between 1 and 16384', 'received 0'],
    },
    {
      name: 'resize width 10.5',
      filter: 'resize',
      params: { width: 10.5 },
      parts: ['resize', 'width', 'an integer between 1 and 16384', 'received 10.5'],
    },
    {
      name: 'resize width "12px"',
      filter: 'resize',
      params: { width: '12px' },
      parts: ['resize', 'width', 'an integer', 'received "12px"'],
    },
    {
      name: 'resize fit "stretch"',
      filter: 'resize',
      params: { width: 10, fit: 'stretch' },
      parts: ['resize', 'fit', 'one of cover, contain, fill, inside, outside', '"stretch"'],
    },
    {
      name: 'resize withoutEnlargement "yes"',
      filter: 'resize',
      params: { width: 10, withoutEnlargement: 'yes' },
      parts: ['resize', 'withoutEnlargement', 'true or false', '"yes"'],
    },
    {
      name: 'crop left -1',
      filter: 'crop',
      params: { left: -1, width: 1, height: 1 },
      parts: ['crop', 'left', 'between 0 and 16383', 'received -1'],
    },
    {
      name: 'rotate angle 720',
      filter: 'rotate',
      params: { angle: 720 },
      parts: ['rotate', 'angle', 'between -360 and 360', 'received 720'],
    },
    {
      name: 'blur sigma 5000',
      filter: 'blur',
      params: { sigma: 5000 },
      parts: ['blur', 'sigma', 'a number between 0.3 and 1000', 'received 5000'],
    },
    {
      name: 'blur sigma NaN',
      filter: 'blur',
      params: { sigma: 'NaN' },
      parts: ['blur', 'sigma', 'between 0.3 and 1000', '"NaN"'],
    },
    {
      name: 'sharpen sigma 0',
      filter: 'sharpen',
      params: { sigma: 0 },
      parts: ['sharpen', 'sigma', 'between 0.000001 and 10', 'received 0'],
    },
    {
      name: 'modulate hue 400',
      filter: 'modulate',
      params: { hue: 400 },
      parts: ['modulate', 'hue', 'between -360 and 360', 'received 400'],
    },
    {
      name: 'modulate brightness -1',
      filter: 'modulate',
      params: { brightness: -1 },
      parts: ['modulate', 'brightness', 'between 0 and 10', 'received -1'],
    },
    {
      name: 'tint colour "red"',
      filter: 'tint',
      params: { color: 'red' },
      parts: ['tint', 'color', 'a hex colour like #ff8800', 'received "red"'],
    },
    {
      name: 'watermark text of 500 characters',
      filter: 'watermark',
      params: { text: 'x'.repeat(500) },
      parts: ['watermark', 'text', 'at most 200 characters', 'x'.repeat(500)],
    },
    {
      name: 'watermark empty text',
      filter: 'watermark',
      params: { text: '' },
      parts: ['watermark', 'text', 'non-empty', 'received ""'],
    },
    {
      name: 'watermark opacity 2',
      filter: 'watermark',
      params: { text: 'a', opacity: 2 },
      parts: ['watermark', 'opacity', 'between 0 and 1', 'received 2'],
    },
    {
      name: 'watermark gravity "top"',
      filter: 'watermark',
      params: { text: 'a', gravity: 'top' },
      parts: ['watermark', 'gravity', 'southeast, southwest, northeast, northwest, center', '"top"'],
    },
    {
      name: 'thumbnail size 4',
      filter: 'thumbnail',
      params: { size: 4 },
      parts: ['thumbnail', 'size', 'between 8 and 1024', 'received 4'],
    },
    {
      name: 'output quality 101',
      filter: 'output',
      params: { format: 'jpeg', quality: 101 },
      parts: ['output', 'quality', 'an integer between 1 and 100', 'received 101'],
    },
    {
      name: 'output format gif',
      filter: 'output',
      params: { format: 'gif' },
      parts: ['output', 'format', 'one of jpeg, png, webp, avif', '"gif"'],
    },
    {
      name: 'parameters that are not an object',
      filter: 'blur',
      params: [3],
      parts: ['blur', 'expected parameters to be an object', '[3]'],
    },
  ];

  for (const { name, filter, params, parts } of cases) {
    it(`${name}: InvalidInput on the first attempt, nothing stored`, async () => {
      const blobs = await countBlobs();
      const env = newEnv();
      let heartbeats = 0;
      env.on('heartbeat', () => heartbeats++);
      await assertInvalidInput(
        env.run(activities[filter], { image: sources['PNG original'], params } as never),
        ...parts,
      );
      assert.equal(await countBlobs(), blobs, 'no blob was written');
      assert.equal(heartbeats, 0, 'rejected before any work started');
    });
  }

  it('string values from CLI flags are coerced, not rejected', async () => {
    const out = await run('resize', sources['PNG original'], { width: '32', withoutEnlargement: 'true' });
    assert.deepEqual([out.width, out.height], [32, 24]);
    const same = await run('resize', sources['PNG original'], { width: 32, withoutEnlargement: true });
    assert.equal(out.key, same.key);
  });

  const good = () => sources['PNG original'];
  const badRefs: { name: string; image: unknown; parts: string[] }[] = [
    {
      name: 'a key naming a path outside the store',
      image: () => ({ ...good(), key: '../../etc/passwd' }),
      parts: ['image.key', '../../etc/passwd'],
    },
    {
      name: 'an absolute path as key',
      image: () => ({ ...good(), key: '/etc/passwd' }),
      parts: ['image.key', '/etc/passwd'],
    },
    { name: 'a key with a path inside', image: () => ({ ...good(), key: `ab/${good().key}` }), parts: ['image.key'] },
    { name: 'no image at all', image: () => undefined, parts: ['expected image to be an image reference'] },
    {
      name: 'a string instead of a reference',
      image: () => good().key,
      parts: ['expected image to be an image reference'],
    },
    {
      name: 'width 0',
      image: () => ({ ...good(), width: 0 }),
      parts: ['expected image to be an image reference', '"width":0'],
    },
    { name: 'an unknown format', image: () => ({ ...good(), format: 'bmp' }), parts: ['format', 'bmp'] },
    {
      name: 'a raw image with 7 channels',
      image: () => ({ ...sources['raw intermediate'], channels: 7 }),
      parts: ['channels', '7'],
    },
  ];
  for (const { name, image, parts } of badRefs) {
    it(`an image reference with ${name} is rejected non-retryably`, async () => {
      const blobs = await countBlobs();
      await assertInvalidInput(
        newEnv().run(activities.blur, { image: (image as () => unknown)(), params: {} } as never),
        ...parts,
      );
      assert.equal(await countBlobs(), blobs, 'no blob was written');
    });
  }

  it('a well-formed key that is not in the store fails, naming the key', async () => {
    const key = `${'0'.repeat(64)}.png`;
    await assert.rejects(run('blur', { ...good(), key }), (err: Error) => err.message.includes(key));
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('content addressing and heartbeats', () => {
  it('the same input twice gives the same output key, for every filter', async () => {
    const params: Partial<Record<FilterName, Record<string, unknown>>> = {
      resize: { width: 20 },
      crop: { width: 10, height: 10 },
      rotate: { angle: 30 },
      tint: { color: '#336699' },
      watermark: { text: 'twice' },
      thumbnail: { size: 16 },
      output: { format: 'webp' },
    };
    for (const filter of filterNames) {
      const first = await run(filter, sources['JPEG original'], params[filter]);
      const blobs = await countBlobs();
      const second = await run(filter, sources['JPEG original'], params[filter]);
      assert.equal(second.key, first.key, `${filter} is deterministic`);
      assert.deepEqual(second, first);
      assert.equal(await countBlobs(), blobs, `${filter}: the retry stored nothing new`);
    }
  });

  it('different inputs give different keys', async () => {
    const a = await run('blur', sources['PNG original'], { sigma: 1 });
    const b = await run('blur', sources['PNG original'], { sigma: 2 });
    assert.notEqual(a.key, b.key);
  });

  it('every filter heartbeats while it works, naming itself', async () => {
    const params: Partial<Record<FilterName, Record<string, unknown>>> = {
      resize: { width: 20 },
      crop: { width: 10, height: 10 },
      rotate: { angle: 90 },
      tint: { color: '#336699' },
      watermark: { text: 'beat' },
    };
    for (const filter of filterNames) {
      const env = newEnv();
      const beats: unknown[] = [];
      env.on('heartbeat', (details: unknown) => beats.push(details));
      await run(filter, sources['PNG original'], params[filter], env);
      assert.ok(beats.length >= 1, `${filter} heartbeated ${beats.length} times`);
      assert.deepEqual(beats[0], { filter });
    }
  });

  it('a slow filter keeps heartbeating through its delay', async () => {
    const slow = createFilterActivities({ store, delayMs: 1_300 });
    const env = newEnv();
    const beats: unknown[] = [];
    env.on('heartbeat', (details: unknown) => beats.push(details));
    const out: ImageRef = await env.run(slow.flip, { image: sources['PNG original'] });
    assert.equal(out.key, (await run('flip', sources['PNG original'])).key);
    assert.ok(beats.length >= 3, `expected heartbeats during the delay and the work, got ${beats.length}`);
  });

  it('a slow filter stops when the activity is cancelled', async () => {
    const slow = createFilterActivities({ store, delayMs: 60_000 });
    const env = newEnv();
    const started = Date.now();
    const result = env.run(slow.flip, { image: sources['PNG original'] });
    setTimeout(() => env.cancel(), 100);
    await assert.rejects(result, (err: unknown) => err instanceof CancelledFailure);
    assert.ok(Date.now() - started < 5_000, 'ended early');
  });
});
