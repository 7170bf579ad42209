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
  run,
  SOURCES,
  W,
} from '../support/filter-harness';

/*
 * Colour (activities/filters/colour.ts): grayscale, sepia, modulate and tint change each pixel's colour in place;
 * the tests check the known quadrant colours against what each operation must make of them.
 */

for (const source of SOURCES) {
  describe(`colour filters on a ${source}`, () => {
    const { src, srcPx, tol } = onSource(source);

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
  });
}
