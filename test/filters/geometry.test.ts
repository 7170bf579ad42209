import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  assertColor,
  assertInvalidInput,
  assertMapped,
  assertRawIntermediate,
  BLUE,
  CENTRE,
  decode,
  GREEN,
  GREY,
  H,
  onSource,
  RED,
  run,
  SOURCES,
  W,
  WHITE,
} from '../support/filter-harness';

/*
 * Geometry (activities/filters/geometry.ts): resize, crop, rotate, flip, flop and thumbnail move pixels without
 * changing them, so most tests map every output pixel back to the source pixel it must equal.
 */

for (const source of SOURCES) {
  describe(`geometry filters on a ${source}`, () => {
    const { src, srcPx, tol } = onSource(source);

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
  });
}
