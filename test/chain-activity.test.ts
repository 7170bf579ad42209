import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import sharp from 'sharp';
import { createChainActivities, type ChainActivities } from '../activities/filters/fused-chain';
import { applyChainInProcess } from '../src/bench/monolith-chain';
import { createFilterActivities, type FilterActivities } from '../activities/filters/activities';
import { completeChain } from '../src/common/filter-chain';
import type { FilterName } from '../src/common/filter-catalog';
import type { FilterStep, ImageRef } from '../src/common/types';
import { FileBlobStore } from '../src/lib/blob-store';
import { jpeg, png } from './support/images';

/**
 * The fused filter activity (applyChain) against the same steps run one activity each, as the workflow runs them by
 * default: the same output blob, byte for byte, and no intermediate left in the store.
 */
const logger = new DefaultLogger('ERROR');
const newEnv = () => new MockActivityEnvironment(undefined, { logger });

let root: string;
let store: FileBlobStore;
let filters: FilterActivities;
let chain: ChainActivities;

before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'nano-photos-chain-activity-'));
  store = new FileBlobStore(path.join(root, 'shared'));
  filters = createFilterActivities({ store });
  chain = createChainActivities({ store });
});
after(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

async function storeOriginal(data: Buffer): Promise<ImageRef> {
  const meta = await sharp(data).metadata();
  const blob = await store.put(data, meta.format === 'jpeg' ? 'jpg' : meta.format!);
  const { width, height } = meta.autoOrient;
  return { ...blob, format: meta.format as ImageRef['format'], width, height, channels: meta.channels! };
}

async function stepByStep(original: ImageRef, steps: FilterStep[]): Promise<ImageRef> {
  let image = original;
  for (const step of steps)
    image = await newEnv().run(filters[step.filter as FilterName], { image, params: step.params });
  return image;
}

/** Every key in the store under `dir`, sorted. */
async function storedKeys(dir: string): Promise<string[]> {
  const prefixes = await readdir(dir);
  const keys = await Promise.all(prefixes.map((d) => readdir(path.join(dir, d))));
  return keys.flat().sort();
}

const BENCH_CHAIN: FilterStep[] = [
  { filter: 'resize', params: { width: 160 } },
  { filter: 'sepia' },
  { filter: 'sharpen' },
  { filter: 'watermark', params: { text: '© nano-photos' } },
  { filter: 'output', params: { format: 'jpeg', quality: 82 } },
];

describe('applyChain (fused filters)', () => {
  it('gives the same output blob as the steps run one activity each, and as the in-process chain', async () => {
    const data = await jpeg({ width: 320, height: 240 }, 6);
    const original = await storeOriginal(data);
    const steps = completeChain(BENCH_CHAIN, original.format);
    const separate = await stepByStep(original, steps);
    // The fused run gets a store of its own holding only the original: anything else it stores shows up there
    // (in the shared store, the step-by-step run already left the same content-addressed intermediates).
    const freshRoot = path.join(root, 'fresh');
    const fresh = new FileBlobStore(freshRoot);
    assert.equal((await fresh.put(data, 'jpg')).key, original.key);
    const fused: ImageRef = await newEnv().run(createChainActivities({ store: fresh }).applyChain, {
      image: original,
      steps,
    });
    assert.deepEqual(fused, separate, 'the same reference: same content hash, format and size');
    assert.deepEqual(
      await storedKeys(freshRoot),
      [original.key, fused.key].sort(),
      'only the original and the output in the store: intermediates stayed in memory',
    );
    assert.ok(
      (await storedKeys(path.join(root, 'shared'))).some((k) => k.endsWith('.raw')),
      'the step-by-step run did store raw intermediates (what the fused run must not)',
    );
    const monolith = await applyChainInProcess(data, BENCH_CHAIN);
    assert.ok((await store.get(fused.key)).equals(monolith), 'byte-identical to the in-process chain');
  });

  it('keeps a chain without output raw, stored like the last filter activity would', async () => {
    const original = await storeOriginal(await png({ width: 90, height: 70 }));
    const steps: FilterStep[] = [{ filter: 'flip' }, { filter: 'blur', params: { sigma: 2 } }, { filter: 'grayscale' }];
    const separate = await stepByStep(original, steps);
    const fused: ImageRef = await newEnv().run(chain.applyChain, { image: original, steps });
    assert.equal(fused.format, 'raw');
    assert.deepEqual(fused, separate);
    assert.ok(await store.has(fused.key));
  });

  it('rejects bad steps before any work, as the filters would', async () => {
    const original = await storeOriginal(await png());
    const cases: [FilterStep[], string][] = [
      [[], 'at least one step'],
      [[{ filter: 'sparkle' }], 'unknown filter'],
      [[{ filter: 'resize', params: { width: 0 } }], 'width'],
      [[{ filter: 'output' }, { filter: 'flip' }], 'output must be the last step'],
    ];
    for (const [steps, part] of cases) {
      await assert.rejects(newEnv().run(chain.applyChain, { image: original, steps }), (err: unknown) => {
        assert.ok(err instanceof ApplicationFailure && err.type === 'InvalidInput' && err.nonRetryable, String(err));
        assert.ok(err.message.includes(part), `${err.message} mentions ${part}`);
        return true;
      });
    }
  });
});
