import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import sharp from 'sharp';
import type { ImageRef } from '../../src/common/types';
import {
  assertColor,
  assertRawIntermediate,
  decode,
  H,
  onSource,
  type Pixels,
  run,
  SOURCES,
  storeOriginal,
  W,
} from '../support/filter-harness';

/*
 * Overlay (activities/filters/overlay.ts): the watermark draws text where its gravity says and nowhere else; the
 * tests compare every pixel with the image underneath.
 */

for (const source of SOURCES) {
  describe(`watermark on a ${source}`, () => {
    const { src, srcPx } = onSource(source);

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
  });
}

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
