import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FilterName } from '../../src/common/filter-catalog';
import type { ImageRef } from '../../src/common/types';
import {
  activities,
  assertInvalidInput,
  assertRefusedUpFront,
  countBlobs,
  run,
  sources,
  store,
  storeRawPixels,
} from '../support/filter-harness';
import { pngClaiming } from '../support/images';

/*
 * The filters' own validation: bad parameters and bad image references fail on the first attempt with a
 * non-retryable InvalidInput naming what is wrong, before any work starts and without storing anything.
 */

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
    it(`${name}: InvalidInput on the first attempt, nothing stored`, () =>
      assertRefusedUpFront(activities[filter], { image: sources['PNG original'], params }, ...parts));
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
    it(`an image reference with ${name} is rejected non-retryably`, () =>
      assertRefusedUpFront(activities.blur, { image: (image as () => unknown)(), params: {} }, ...parts));
  }

  it('what sharp cannot do with this image fails on the first attempt, non-retryably, storing nothing', async () => {
    // A stored image over the pixel limit (its header claims 20000 x 20000), and a raw image too wide for WebP.
    const bombBlob = await store.put(await pngClaiming(20_000, 20_000), 'png');
    const bomb: ImageRef = { ...bombBlob, format: 'png', width: 20_000, height: 20_000, channels: 3 };
    const wide = await storeRawPixels(Buffer.alloc(16_384 * 2 * 3, 200), 16_384, 2, 3);
    const blobs = await countBlobs();
    await assertInvalidInput(run('sepia', bomb), 'sepia: expected an image of at most 100000000 pixels', 'pixel limit');
    await assertInvalidInput(run('output', wide, { format: 'webp' }), 'output: cannot be applied', 'WebP');
    assert.equal(await countBlobs(), blobs, 'no blob was written');
  });

  it('a well-formed key that is not in the store fails, naming the key', async () => {
    const key = `${'0'.repeat(64)}.png`;
    await assert.rejects(run('blur', { ...good(), key }), (err: Error) => err.message.includes(key));
  });
});
