import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  assertColor,
  assertRawIntermediate,
  CENTRE,
  decode,
  H,
  luma,
  onSource,
  type Pixels,
  run,
  SOURCES,
  W,
} from '../support/filter-harness';

/*
 * Detail (activities/filters/detail.ts): blur and sharpen act across edges; the tests measure the red | green and
 * blue | grey edges of the test image and the flat quadrant centres beside them.
 */

for (const source of SOURCES) {
  describe(`detail filters on a ${source}`, () => {
    const { src, srcPx } = onSource(source);

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
  });
}
