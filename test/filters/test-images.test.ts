import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  assertColor,
  assertRawIntermediate,
  BLUE,
  CENTRE,
  GREEN,
  GREY,
  H,
  quadrantPixels,
  RED,
  SOURCES,
  sourcePixels,
  sources,
  TOLERANCE,
  W,
} from '../support/filter-harness';

/*
 * The sources every filter test runs on (test/support/filter-harness.ts) hold the pixels the tests assume.
 */

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
