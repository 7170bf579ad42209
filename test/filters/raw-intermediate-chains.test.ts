import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  assertColor,
  assertRawIntermediate,
  CENTRE,
  decode,
  GREEN,
  H,
  luma,
  type Pixels,
  run,
  sources,
  storeRawPixels,
  W,
} from '../support/filter-harness';

/*
 * Filters applied one after another, each reading the raw intermediate the previous one stored, as a chain runs.
 */

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
