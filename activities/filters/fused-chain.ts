import { randomBytes } from 'node:crypto';
import type { BlobStore, StoredBlob } from '../../src/lib/blob-store';
import { createFilterActivities, type FilterActivities, type FilterDeps } from './activities';
import { validateChain } from '../../src/common/filter-chain';
import type { FilterName } from '../../src/common/filter-catalog';
import { invalidInput } from '../../src/common/params';
import type { FilterStep, ImageRef } from '../../src/common/types';

export interface ChainInput {
  image: ImageRef;
  /** Adjacent steps of one request, in order, as the workflow would run them one activity each. */
  steps: FilterStep[];
}

export interface ChainActivities {
  applyChain(input: ChainInput): Promise<ImageRef>;
}

/**
 * Keeps a chain's intermediates in this process instead of the blob store: reads fall through to the real store
 * (the original), every write but the last stays in memory and is dropped once the next step has read it. The
 * in-memory keys are random (never hashed: they never leave the activity), shaped like store keys so the filter
 * activities accept them.
 */
class ChainStore implements BlobStore {
  private readonly held = new Map<string, Buffer>();
  /** Set before the last step: its result goes to the real store. */
  persistNext = false;

  constructor(private readonly store: BlobStore) {}

  async put(data: Buffer, extension: string, scope?: string): Promise<StoredBlob> {
    if (this.persistNext) return this.store.put(data, extension, scope);
    const hex = randomBytes(32).toString('hex');
    const key = `${hex}.${extension}`;
    this.held.set(key, data);
    return { key, sha256: hex, bytes: data.length };
  }

  async get(key: string): Promise<Buffer> {
    const data = this.held.get(key);
    if (!data) return this.store.get(key);
    this.held.delete(key);
    return data;
  }

  async has(key: string): Promise<boolean> {
    return this.held.has(key) || this.store.has(key);
  }
}

/**
 * The fused filter nano-service, for callers that ask for it: runs adjacent filters of one request in one activity.
 * Each step is the very same filter activity function as on its own (validation, sharp operations, raw
 * intermediates, the output encoding), so the result is the same blob, byte for byte; only the intermediates stay
 * in memory, which saves a blob write, hash and read plus one orchestration round trip per step.
 */
export function createChainActivities({ store, delayMs, budget }: FilterDeps): ChainActivities {
  return {
    async applyChain(input: ChainInput): Promise<ImageRef> {
      const steps = validateChain(input?.steps);
      if (steps.length === 0) throw invalidInput('applyChain: expected at least one step, received none');
      const chainStore = new ChainStore(store);
      const filters: FilterActivities = createFilterActivities({ store: chainStore, delayMs, budget });
      let image = input.image;
      for (const [index, step] of steps.entries()) {
        chainStore.persistNext = index === steps.length - 1;
        image = await filters[step.filter as FilterName]({ image, params: step.params });
      }
      return image;
    },
  };
}
