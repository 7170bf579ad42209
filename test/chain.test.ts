import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import sharp from 'sharp';
import { applyChainInProcess } from '../src/bench/monolith-chain';
import { createFilterActivities, type FilterActivities } from '../activities/filters/activities';
import { filterNames, parseFilterParams } from '../src/common/filter-catalog';
import { completeChain, MAX_CHAIN_LENGTH, validateChain } from '../src/common/filter-chain';
import type { FilterStep, ImageFormat, ImageRef } from '../src/common/types';
import { FileBlobStore } from '../src/lib/blob-store';
import { parseFilterFlag } from '../src/lib/filter-flags';
import { canvas, encoded, jpeg } from './support/images';
import { assertIsInvalidInput } from './support/invalid-input';

/** Runs `fn`, expecting a non-retryable InvalidInput failure whose message mentions every one of `parts`. */
function assertInvalidInput(fn: () => unknown, ...parts: string[]): ApplicationFailure {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  return assertIsInvalidInput(caught, parts);
}

describe('validateChain', () => {
  it('accepts a valid chain and returns its steps', () => {
    const steps = [
      { filter: 'resize', params: { width: 100 } },
      { filter: 'grayscale' },
      { filter: 'output', params: { format: 'webp' } },
    ];
    assert.deepEqual(validateChain(steps), steps);
    assert.deepEqual(validateChain([]), []);
    assert.ok(!('params' in validateChain([{ filter: 'flip' }])[0]), 'a step without params stays without');
  });

  it('an unknown filter names its index and lists every valid filter', () => {
    const err = assertInvalidInput(
      () =>
        validateChain([{ filter: 'resize', params: { width: 10 } }, { filter: 'grayscale' }, { filter: 'sparkle' }]),
      'filters[2]',
      '"sparkle"',
    );
    for (const name of filterNames) assert.ok(err.message.includes(name), `the message lists ${name}: ${err.message}`);
    assert.ok(err.message.includes(filterNames.join(', ')));
  });

  it('a step that is not a step, or a missing filter name, is an unknown filter at its index', () => {
    assertInvalidInput(() => validateChain([null]), 'filters[0]', 'unknown filter');
    assertInvalidInput(() => validateChain([{ filter: 'flip' }, {}]), 'filters[1]', 'unknown filter');
    assertInvalidInput(() => validateChain([{ filter: 'flip' }, 'blur']), 'filters[1]', 'unknown filter');
    // Names are matched exactly: neither case variants nor Object's own properties are filters.
    assertInvalidInput(() => validateChain([{ filter: 'Resize' }]), 'filters[0]', '"Resize"');
    assertInvalidInput(() => validateChain([{ filter: 'toString' }]), 'filters[0]', '"toString"');
    assertInvalidInput(() => validateChain([{ filter: '__proto__' }]), 'filters[0]', '"__proto__"');
  });

  it('anything but an array is rejected', () => {
    assertInvalidInput(() => validateChain({ filter: 'flip' }), 'expected filters to be an array');
    assertInvalidInput(() => validateChain('flip'), 'expected filters to be an array', '"flip"');
    assertInvalidInput(() => validateChain(undefined), 'expected filters to be an array');
  });

  it('output must be the last step', () => {
    assertInvalidInput(
      () => validateChain([{ filter: 'output', params: { format: 'png' } }, { filter: 'grayscale' }]),
      'filters[0]',
      'output must be the last step',
      'position 1 of 2',
    );
    assertInvalidInput(
      () => validateChain([{ filter: 'flip' }, { filter: 'output' }, { filter: 'output' }]),
      'filters[1]',
      'output must be the last step',
      'position 2 of 3',
    );
  });

  it("every step's parameters are checked, with the filter's own message", () => {
    assertInvalidInput(
      () => validateChain([{ filter: 'grayscale' }, { filter: 'blur', params: { sigma: 5000 } }]),
      'blur',
      'sigma',
      'between 0.3 and 1000',
      '5000',
    );
    assertInvalidInput(
      () => validateChain([{ filter: 'crop', params: { width: 10 } }]),
      'crop',
      'missing required parameter height',
    );
    assertInvalidInput(
      () => validateChain([{ filter: 'output', params: { quality: 101 } }]),
      'output',
      'quality',
      '101',
    );
    assertInvalidInput(
      () => validateChain([{ filter: 'resize', params: { width: 10, constructor: 1 } }]),
      'resize',
      '"constructor"',
    );
  });

  it(`allows at most ${MAX_CHAIN_LENGTH} steps`, () => {
    const flips = (n: number) => Array.from({ length: n }, () => ({ filter: 'flip' }));
    assert.equal(validateChain(flips(MAX_CHAIN_LENGTH)).length, MAX_CHAIN_LENGTH);
    assertInvalidInput(
      () => validateChain(flips(MAX_CHAIN_LENGTH + 1)),
      `at most ${MAX_CHAIN_LENGTH}`,
      `${MAX_CHAIN_LENGTH + 1}`,
    );
  });

  it("string values from CLI flags ('1080', 'true', '2.5') are coerced by the filters", () => {
    const chain = validateChain([
      parseFilterFlag('resize:width=1080,withoutEnlargement=true'),
      parseFilterFlag('blur:sigma=2.5'),
      parseFilterFlag('watermark:text=Hello, world,size=10'),
      parseFilterFlag('output:format=jpeg,quality=90'),
    ]);
    assert.deepEqual(parseFilterParams('resize', chain[0].params), {
      width: 1080,
      height: undefined,
      fit: 'inside',
      withoutEnlargement: true,
    });
    assert.equal(parseFilterParams('blur', chain[1].params).sigma, 2.5);
    assert.deepEqual(parseFilterParams('watermark', chain[2].params), {
      text: 'Hello, world',
      size: 10,
      gravity: 'southeast',
      opacity: 0.7,
      color: '#ffffff',
    });
    assert.deepEqual(parseFilterParams('output', chain[3].params), { format: 'jpeg', quality: 90 });
    // A string that is a text parameter's value stays text.
    assert.equal(parseFilterParams('watermark', { text: '1080' }).text, '1080');
  });

  it('strings that are not numbers or booleans are still rejected', () => {
    assertInvalidInput(
      () => validateChain([parseFilterFlag('resize:width=1080px')]),
      'resize',
      'width',
      'an integer',
      '"1080px"',
    );
    assertInvalidInput(() => validateChain([parseFilterFlag('resize:width=')]), 'resize', 'width', '""');
    assertInvalidInput(
      () => validateChain([parseFilterFlag('resize:width=10.5')]),
      'resize',
      'width',
      'an integer',
      'received 10.5 (number)',
    );
    assertInvalidInput(
      () => validateChain([parseFilterFlag('resize:width=10,withoutEnlargement=yes')]),
      'withoutEnlargement',
      '"yes"',
    );
    assertInvalidInput(() => validateChain([parseFilterFlag('blur:sigma=Infinity')]), 'blur', 'sigma', '"Infinity"');
  });
});

describe('completeChain', () => {
  const formats: [ImageFormat | 'raw', string][] = [
    ['jpeg', 'jpeg'],
    ['png', 'png'],
    ['webp', 'webp'],
    ['avif', 'avif'],
    ['gif', 'png'],
    ['tiff', 'png'],
    ['heif', 'png'],
    ['svg', 'png'],
    ['raw', 'png'],
  ];
  for (const [source, expected] of formats) {
    it(`appends output as ${expected} for a ${source} source`, () => {
      const chain = completeChain([{ filter: 'grayscale' }], source);
      assert.deepEqual(chain, [{ filter: 'grayscale' }, { filter: 'output', params: { format: expected } }]);
    });
  }

  it('keeps an output step the user gave, filling in only a missing format', () => {
    assert.deepEqual(
      completeChain([{ filter: 'flip' }, { filter: 'output', params: { format: 'webp', quality: 50 } }], 'jpeg'),
      [{ filter: 'flip' }, { filter: 'output', params: { format: 'webp', quality: 50 } }],
    );
    assert.deepEqual(completeChain([{ filter: 'output', params: { quality: 60 } }], 'jpeg'), [
      { filter: 'output', params: { format: 'jpeg', quality: 60 } },
    ]);
    assert.deepEqual(completeChain([{ filter: 'output' }], 'gif'), [{ filter: 'output', params: { format: 'png' } }]);
  });

  it('an empty chain becomes a bare re-encode', () => {
    assert.deepEqual(completeChain([], 'jpeg'), [{ filter: 'output', params: { format: 'jpeg' } }]);
  });

  it('ends with exactly one output and leaves its input alone', () => {
    const steps: FilterStep[] = [{ filter: 'sepia' }, { filter: 'output', params: { quality: 70 } }];
    const copy = structuredClone(steps);
    const chain = completeChain(steps, 'png');
    assert.equal(chain.filter((s) => s.filter === 'output').length, 1);
    assert.equal(chain.at(-1)!.filter, 'output');
    assert.deepEqual(steps, copy, 'the caller’s steps are unchanged');
    assert.deepEqual(completeChain(chain, 'jpeg'), chain, 'completing a complete chain changes nothing');
  });

  it('validates as it completes', () => {
    assertInvalidInput(
      () => completeChain([{ filter: 'output' }, { filter: 'flip' }], 'jpeg'),
      'filters[0]',
      'output must be the last step',
    );
    assertInvalidInput(() => completeChain([{ filter: 'nope' }], 'jpeg'), 'filters[0]', '"nope"');
  });
});

// ---------------------------------------------------------------------------------------------------------------

const logger = new DefaultLogger('ERROR');
let root: string;
let store: FileBlobStore;
let activities: FilterActivities;

before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'nano-photos-chain-'));
  store = new FileBlobStore(root);
  activities = createFilterActivities({ store });
});
after(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

/** Stores an original as the upload activity does: its detected format, its displayed (upright) size. */
async function storeOriginal(data: Buffer): Promise<ImageRef> {
  const meta = await sharp(data).metadata();
  const format = (meta.format === 'heif' && meta.compression === 'av1' ? 'avif' : meta.format) as ImageFormat;
  const blob = await store.put(data, format === 'jpeg' ? 'jpg' : format);
  return { ...blob, format, width: meta.autoOrient.width, height: meta.autoOrient.height, channels: meta.channels! };
}

/** The same chain as the workflow runs it: completed for the original's format, one filter activity per step. */
async function runAsNanoServices(original: ImageRef, steps: FilterStep[]): Promise<Buffer> {
  let image = original;
  for (const step of completeChain(steps, original.format)) {
    const activity = activities[step.filter as keyof FilterActivities];
    image = await new MockActivityEnvironment(undefined, { logger }).run(activity, { image, params: step.params });
  }
  return store.get(image.key);
}

async function pixels(data: Buffer) {
  return sharp(data).raw().toBuffer({ resolveWithObject: true });
}

describe('applyChainInProcess', () => {
  const threeSteps: FilterStep[] = [
    { filter: 'resize', params: { width: '32' } },
    { filter: 'rotate', params: { angle: 90 } },
    { filter: 'grayscale' },
  ];

  it('a 3-step chain gives a decodable image of the expected size, in the original format', async () => {
    const out = await applyChainInProcess(await jpeg({ width: 64, height: 48 }), threeSteps);
    const meta = await sharp(out).metadata();
    assert.equal(meta.format, 'jpeg');
    // 64x48 resized to 32x24, then turned a quarter: 24x32.
    assert.deepEqual([meta.width, meta.height], [24, 32]);
    const { data, info } = await pixels(out);
    assert.deepEqual([info.width, info.height], [24, 32]);
    for (let i = 0; i + info.channels <= data.length; i += info.channels) {
      const [r, g = r, b = r] = data.subarray(i, i + info.channels);
      assert.ok(
        Math.abs(r - g) <= 3 && Math.abs(g - b) <= 3,
        `pixel ${i / info.channels} is rgb(${r},${g},${b}), not grey`,
      );
    }
  });

  it('the pixels follow the steps: crop, flop and modulate on a known image', async () => {
    // Left half red, right half blue, 40x20.
    const data = Buffer.alloc(40 * 20 * 3);
    for (let i = 0; i < 40 * 20; i++) data.set(i % 40 < 20 ? [255, 0, 0] : [0, 0, 255], i * 3);
    const original = await sharp(data, { raw: { width: 40, height: 20, channels: 3 } })
      .png()
      .toBuffer();
    const out = await applyChainInProcess(original, [
      { filter: 'crop', params: { left: 10, top: 0, width: 20, height: 10 } },
      { filter: 'flop' },
      { filter: 'modulate', params: { brightness: '1' } },
    ]);
    const { data: px, info } = await pixels(out);
    assert.equal((await sharp(out).metadata()).format, 'png');
    assert.deepEqual([info.width, info.height], [20, 10]);
    assert.deepEqual([...px.subarray(0, 3)], [0, 0, 255], 'blue is on the left after the flop');
    const last = (info.width - 1) * info.channels;
    assert.deepEqual([...px.subarray(last, last + 3)], [255, 0, 0], 'red is on the right');
  });

  it('an explicit output step picks the format', async () => {
    const out = await applyChainInProcess(await jpeg(), [
      ...threeSteps,
      { filter: 'output', params: { format: 'webp', quality: '80' } },
    ]);
    const meta = await sharp(out).metadata();
    assert.equal(meta.format, 'webp');
    assert.deepEqual([meta.width, meta.height], [24, 32]);
  });

  it('a GIF original comes out as PNG', async () => {
    const out = await applyChainInProcess(await encoded('gif'), [{ filter: 'flip' }]);
    assert.equal((await sharp(out).metadata()).format, 'png');
  });

  it('an AVIF original comes out as AVIF, as it does through the nano-services', async () => {
    const avif = await encoded('avif');
    const out = await applyChainInProcess(avif, [{ filter: 'flop' }]);
    const meta = await sharp(out).metadata();
    assert.equal(meta.format, 'heif');
    assert.equal(meta.compression, 'av1');
    const original = await storeOriginal(avif);
    assert.equal(original.format, 'avif');
    assert.deepEqual(out, await runAsNanoServices(original, [{ filter: 'flop' }]));
  });

  it('an EXIF-rotated JPEG is processed upright', async () => {
    const out = await applyChainInProcess(await jpeg({ width: 64, height: 48 }, 6), [
      { filter: 'crop', params: { width: 48, height: 64 } },
    ]);
    const meta = await sharp(out).metadata();
    assert.deepEqual([meta.width, meta.height], [48, 64]);
  });

  it('a bad chain fails before any work, non-retryably', async () => {
    await assert.rejects(
      applyChainInProcess(await jpeg(), [{ filter: 'blur', params: { sigma: 5000 } }]),
      (err: unknown) => {
        assert.ok(err instanceof ApplicationFailure);
        assert.equal(err.nonRetryable, true);
        assert.equal(err.type, 'InvalidInput');
        return true;
      },
    );
    await assert.rejects(
      applyChainInProcess(await jpeg(), [{ filter: 'crop', params: { left: 60, width: 10, height: 10 } }]),
      (err: unknown) => {
        assert.ok(err instanceof ApplicationFailure && err.type === 'InvalidInput', String(err));
        assert.match(err.message, /left=60 top=0 width=10 height=10.*64x48/);
        return true;
      },
    );
  });

  const chains: [string, () => Promise<Buffer>, FilterStep[]][] = [
    ['the 3-step chain on a JPEG', () => jpeg({ width: 64, height: 48 }), threeSteps],
    [
      'every filter on a PNG with alpha',
      () => canvas({ width: 80, height: 60 }, 4).png().toBuffer(),
      [
        { filter: 'resize', params: { width: 70 } },
        { filter: 'crop', params: { left: 2, top: 3, width: 60, height: 40 } },
        { filter: 'rotate', params: { angle: 15, background: '#123456' } },
        { filter: 'flip' },
        { filter: 'flop' },
        { filter: 'sepia' },
        { filter: 'blur', params: { sigma: 1.5 } },
        { filter: 'sharpen' },
        { filter: 'modulate', params: { brightness: 1.2, saturation: 0.8, hue: 30 } },
        { filter: 'tint', params: { color: '#ff8800' } },
        { filter: 'watermark', params: { text: 'a<&>b', size: 20 } },
        { filter: 'grayscale' },
        { filter: 'thumbnail', params: { size: 32 } },
      ],
    ],
    [
      'grayscale then tint on a JPEG, to WebP',
      () => jpeg(),
      [
        { filter: 'grayscale' },
        { filter: 'tint', params: { color: '#3366ff' } },
        { filter: 'output', params: { format: 'webp' } },
      ],
    ],
  ];
  for (const [name, original, steps] of chains) {
    it(`gives the same bytes as the nano-services: ${name}`, async () => {
      const data = await original();
      const inProcess = await applyChainInProcess(data, steps);
      const nano = await runAsNanoServices(await storeOriginal(data), steps);
      assert.ok(inProcess.equals(nano), `in-process ${inProcess.length} bytes, nano-services ${nano.length} bytes`);
    });
  }
});
