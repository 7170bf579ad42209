import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import sharp from 'sharp';
import { applyFilter } from '../activities/filters/operations';
import { filterOutputSize, MAX_IMAGE_PIXELS, parseFilterParams, type FilterName } from '../src/common/filter-catalog';
import { checkChainSize } from '../src/common/filter-chain';
import type { FilterStep, Size } from '../src/common/types';

/** What sharp really makes: the filter's own operation on a blank image of `size`, run to raw pixels. */
async function sharpSize(size: Size, filter: FilterName, params: Record<string, unknown>): Promise<Size> {
  const blank = sharp({ create: { ...size, channels: 3, background: '#123456' } }).pipelineColourspace('srgb');
  const image = await applyFilter(blank, size, filter, params);
  const { info } = await image.raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height };
}

const INPUTS: Size[] = [
  { width: 64, height: 48 },
  { width: 48, height: 64 },
  { width: 1000, height: 3 },
  { width: 3, height: 1000 },
  { width: 333, height: 777 },
];

describe('each filter predicts the size sharp makes', () => {
  it('resize: every fit, with and without enlargement, one side or both, growing and shrinking', async () => {
    const targets = [{ width: 100 }, { height: 100 }, { width: 100, height: 50 }, { width: 20, height: 10 }];
    targets.push({ width: 50, height: 100 }, { width: 7, height: 1 });
    let cases = 0;
    for (const input of INPUTS) {
      for (const fit of ['cover', 'contain', 'fill', 'inside', 'outside']) {
        for (const withoutEnlargement of [false, true]) {
          for (const target of targets) {
            const params = { ...target, fit, withoutEnlargement };
            const predicted = filterOutputSize('resize', parseFilterParams('resize', params), input);
            const label = `${input.width}x${input.height} ${JSON.stringify(params)}`;
            assert.deepEqual(predicted, await sharpSize(input, 'resize', params), label);
            cases++;
          }
        }
      }
    }
    assert.equal(cases, 300);
  });

  it('rotate: right angles exactly, other angles to within a pixel a side', async () => {
    for (const input of INPUTS) {
      for (const angle of [0, 90, -90, 180, 270, 360, 30, 45, -45, 1, 0.1, 89.9, 359.5, -123.4]) {
        const predicted = filterOutputSize('rotate', parseFilterParams('rotate', { angle }), input);
        const actual = await sharpSize(input, 'rotate', { angle });
        const label = `${input.width}x${input.height} rotated ${angle}`;
        if (angle % 90 === 0) assert.deepEqual(predicted, actual, label);
        assert.ok(
          Math.abs(predicted.width - actual.width) <= 1,
          `${label}: width ${predicted.width} vs ${actual.width}`,
        );
        assert.ok(Math.abs(predicted.height - actual.height) <= 1, `${label}: ${predicted.height} vs ${actual.height}`);
      }
    }
  });

  it('crop, thumbnail and the filters that keep the size', async () => {
    const cases: [FilterName, Record<string, unknown>][] = [
      ['crop', { left: 10, top: 5, width: 30, height: 20 }],
      ['thumbnail', { size: 32 }],
      ['flip', {}],
      ['flop', {}],
      ['grayscale', {}],
      ['sepia', {}],
      ['blur', {}],
      ['sharpen', {}],
      ['modulate', { brightness: 1.2 }],
      ['tint', { color: '#ff8800' }],
      ['watermark', { text: 'hi' }],
      ['output', { format: 'png' }],
    ];
    for (const [filter, params] of cases) {
      const input = { width: 64, height: 48 };
      const predicted = filterOutputSize(filter, parseFilterParams(filter, params), input);
      assert.deepEqual(predicted, await sharpSize(input, filter, params), filter);
    }
  });
});

describe('a chain that cannot fit is refused before it runs', () => {
  const refusal = (pattern: RegExp) => (err: unknown) => {
    assert.ok(err instanceof ApplicationFailure, String(err));
    assert.equal(err.type, 'InvalidInput');
    assert.equal(err.nonRetryable, true);
    assert.match(err.message, pattern);
    return true;
  };
  const fill: FilterStep = { filter: 'resize', params: { width: 16384, height: 16384, fit: 'fill' } };

  it('from the chain alone, when a step sets the size whatever comes in', () => {
    assert.throws(
      () => checkChainSize([{ filter: 'grayscale' }, fill, { filter: 'sepia' }]),
      refusal(
        new RegExp(
          `^filters\\[1\\]: resize would make a 16384x16384 image \\(268435456 pixels\\); expected at most ` +
            `${MAX_IMAGE_PIXELS} pixels and 65535 a side at every step$`,
        ),
      ),
    );
    // Size-dependent steps cannot be judged yet, so they pass until the upload has measured the original.
    assert.doesNotThrow(() => checkChainSize([{ filter: 'resize', params: { width: 16000 } }, { filter: 'sepia' }]));
    // A later step that sets the size again is judged from there on.
    const thumb = { filter: 'thumbnail', params: { size: 64 } };
    assert.doesNotThrow(() => checkChainSize([{ filter: 'resize', params: { width: 16000 } }, thumb]));
  });

  it('step by step from the uploaded size', () => {
    const wide = [{ filter: 'resize', params: { width: 16000 } }, { filter: 'sepia' }];
    assert.throws(
      () => checkChainSize(wide, { width: 48, height: 48 }),
      refusal(/^filters\[0\]: resize would make a 16000x16000 image \(256000000 pixels\) from the 48x48 upload; /),
    );
    assert.doesNotThrow(() => checkChainSize(wide, { width: 16000, height: 90 }));
    // Growth spread over steps: each is fine, the third is not.
    const grow = [
      { filter: 'resize', params: { width: 8000 } },
      { filter: 'rotate', params: { angle: 45 } },
      { filter: 'resize', params: { width: 12000 } },
      { filter: 'crop', params: { width: 100, height: 100 } },
    ];
    assert.throws(
      () => checkChainSize(grow, { width: 4000, height: 3000 }),
      refusal(/^filters\[2\]: resize would make a 12000x12000/),
    );
    // fit=outside on a thin image: small numbers, a giant result.
    const outside = [{ filter: 'resize', params: { width: 1000, height: 1000, fit: 'outside' } }];
    assert.throws(() => checkChainSize(outside, { width: 10, height: 5000 }), refusal(/1000x500000 image/));
  });

  it('the output format must be able to hold the result', () => {
    const wideWebp = [
      { filter: 'resize', params: { width: 16384, height: 100, fit: 'fill' } },
      { filter: 'output', params: { format: 'webp' } },
    ];
    assert.throws(
      () => checkChainSize(wideWebp),
      refusal(
        /^filters\[1\]: output: expected an image of at most 16383 pixels a side for format webp, the chain would make 16384x100$/,
      ),
    );
    assert.doesNotThrow(() => checkChainSize([wideWebp[0], { filter: 'output', params: { format: 'png' } }]));
  });
});
