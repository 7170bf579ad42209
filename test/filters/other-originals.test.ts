import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { canvas, grayscalePng, jpeg, pngWithAlpha } from '../support/images';
import {
  assertColor,
  assertInvalidInput,
  assertRawIntermediate,
  BLUE,
  decode,
  run,
  store,
  storeOriginal,
} from '../support/filter-harness';

/*
 * Originals unlike the test image: single-channel greyscale, transparency, an EXIF orientation, GIF, WebP and TIFF.
 */

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
