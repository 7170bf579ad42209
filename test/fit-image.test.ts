import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import sharp from 'sharp';
import { createFitActivities, type FitImageInput } from '../activities/filters/fit-image';
import { BLUESKY_IMAGE_LIMITS, type ImageLimits } from '../src/common/share-limits';
import type { ImageRef, OutputFormat } from '../src/common/types';
import { FileBlobStore } from '../src/lib/blob-store';
import { countFiles } from './support/files';
import { canvas } from './support/images';

const quiet = new DefaultLogger('ERROR');
let tmp: string;
let store: FileBlobStore;
const fit = (input: FitImageInput) =>
  new MockActivityEnvironment(undefined, { logger: quiet }).run(
    createFitActivities({ store }).fitImage,
    input,
  ) as Promise<ImageRef>;

async function stored(data: Buffer, format: OutputFormat): Promise<ImageRef> {
  const { width = 0, height = 0, channels = 0 } = await sharp(data).metadata();
  return { ...(await store.put(data, format === 'jpeg' ? 'jpg' : format)), format, width, height, channels };
}

before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'nano-photos-fit-'));
  store = new FileBlobStore(tmp);
});
after(() => rm(tmp, { recursive: true, force: true }));

describe('fitImage', () => {
  test('returns an output that fits as it is: the target gets the run’s very bytes', async () => {
    const image = await stored(await canvas({ width: 800, height: 600 }).jpeg().toBuffer(), 'jpeg');
    assert.deepEqual(await fit({ image, limits: BLUESKY_IMAGE_LIMITS }), image);
  });

  test('makes a JPEG within the limits from a large output, the same one every time, keeping the aspect ratio', async () => {
    const image = await stored(await canvas({ width: 3000, height: 2000 }).jpeg({ quality: 95 }).toBuffer(), 'jpeg');
    assert.ok(image.bytes > BLUESKY_IMAGE_LIMITS.maxBytes, `the test image is ${image.bytes} bytes`);
    const before = await countFiles(tmp);
    const variant = await fit({ image, limits: BLUESKY_IMAGE_LIMITS });
    assert.equal(variant.format, 'jpeg');
    assert.ok(variant.bytes <= BLUESKY_IMAGE_LIMITS.maxBytes, `${variant.bytes} bytes`);
    assert.deepEqual([variant.width, variant.height], [2000, 1333]);
    assert.equal(await countFiles(tmp), before + 1, 'only the variant is stored, not the rungs tried');
    assert.deepEqual(await fit({ image, limits: BLUESKY_IMAGE_LIMITS }), variant, 'deterministic');
  });

  test('re-encodes a format the target does not take, flattening transparency onto white', async () => {
    const avif = await stored(await canvas({ width: 64, height: 48 }, 4).avif().toBuffer(), 'avif');
    const variant = await fit({ image: avif, limits: BLUESKY_IMAGE_LIMITS });
    assert.equal(variant.format, 'jpeg');
    assert.deepEqual([variant.width, variant.height, variant.channels], [64, 48, 3]);
  });

  test('fails non-retryably, naming the limit, when nothing on the ladder fits', async () => {
    const image = await stored(await canvas({ width: 1200, height: 900 }).jpeg().toBuffer(), 'jpeg');
    const limits: ImageLimits = { ...BLUESKY_IMAGE_LIMITS, maxBytes: 2000 };
    const err = await fit({ image, limits }).then(
      () => assert.fail('expected a failure'),
      (e: Error) => e,
    );
    assert.ok(err instanceof ApplicationFailure && err.nonRetryable, String(err));
    assert.equal(err.type, 'ImageDoesNotFit');
    assert.match(err.message, /fits in 2000 bytes \(maxBytes\)/);
  });

  test('checks its limits like any parameter', async () => {
    const image = await stored(await canvas().jpeg().toBuffer(), 'jpeg');
    const err = await fit({ image, limits: { maxBytes: -1 } as unknown as ImageLimits }).then(
      () => assert.fail('expected a failure'),
      (e: Error) => e,
    );
    assert.ok(err instanceof ApplicationFailure && err.type === 'InvalidInput');
    assert.match(err.message, /fitImage: expected limits to be/);
  });
});
