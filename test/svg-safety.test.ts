import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import sharp from 'sharp';
import { assertSafeSvg } from '../activities/upload/svg-safety';
import { jpeg, svg } from './support/images';

/**
 * The check must see every input libvips would load as an SVG, and read no photo as text. Each case asks libvips
 * (through sharp) what it makes of the bytes, so the two are compared rather than assumed to agree.
 */
const HAZARD = '<image xlink:href="file:///etc/hostname" width="9" height="9"/>';
const latin1 = (text: string) => Buffer.from(text, 'latin1');
const formatOf = (data: Buffer) =>
  sharp(data)
    .metadata()
    .then(
      (m) => m.format,
      () => 'refused',
    );

describe('which inputs the SVG check reads, as libvips decides what is an SVG', () => {
  test('Latin-1 text whose bytes UTF-8 only uses mid-character (° ©): libvips loads it as SVG, so it is checked', async () => {
    const prolog = '<?xml version="1.0" encoding="ISO-8859-1"?><!-- 20\xb0C \xa9 -->';
    const doc = Buffer.concat([latin1(prolog), svg(HAZARD)]);
    assert.equal(await formatOf(doc), 'svg');
    assert.throws(() => assertSafeSvg(doc), /unsafe SVG: found href="file:\/\/\/etc\/hostname"/);
  });

  test('UTF-8 text before "<svg" is read on to it', async () => {
    const doc = Buffer.concat([Buffer.from('<!-- café ☕ 𝄞 -->'), svg(HAZARD)]);
    assert.equal(await formatOf(doc), 'svg');
    assert.throws(() => assertSafeSvg(doc), /unsafe SVG/);
  });

  test('a byte that starts no UTF-8 character ends the search, for libvips and the check alike', async () => {
    for (const stop of ['\xff', '\xc0', '\xc3(', '\xf0\x9f(']) {
      const doc = Buffer.concat([latin1(`<!-- ${stop} -->`), svg(HAZARD)]);
      assert.equal(await formatOf(doc), 'refused', JSON.stringify(stop));
      assert.doesNotThrow(() => assertSafeSvg(doc), JSON.stringify(stop));
    }
  });

  test('a JPEG carrying SVG markup in a comment is a JPEG: not read as text, not refused', async () => {
    const photo = await jpeg();
    // A COM segment right after the SOI marker: the markup sits before any image data.
    const markup = Buffer.from(`<svg>${HAZARD}</svg>`);
    const segment = Buffer.concat([Buffer.from([0xff, 0xfe, 0, markup.length + 2]), markup]);
    const doc = Buffer.concat([photo.subarray(0, 2), segment, photo.subarray(2)]);
    assert.equal(await formatOf(doc), 'jpeg');
    assert.doesNotThrow(() => assertSafeSvg(doc));
  });
});
