import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import type { OutputFormat } from '../../src/common/types';
import { sha256 } from '../../src/lib/blob-store';
import { canvas } from '../support/images';
import {
  assertColor,
  assertMapped,
  CENTRE,
  decode,
  GREY,
  H,
  onSource,
  RED,
  run,
  SOURCES,
  sources,
  store,
  storeOriginal,
  W,
} from '../support/filter-harness';

/*
 * Output (activities/filters/encoding.ts): the one step that encodes, content-addressed under the format's
 * extension; what it stores must decode in that format to the pixels it was given.
 */

for (const source of SOURCES) {
  describe(`output on a ${source}`, () => {
    const { src, srcPx, tol } = onSource(source);

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
