import { runInMemory, type FilterDeps } from './activities';
import { validateChain } from '../../src/common/filter-chain';
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
      return (await runInMemory({ store, delayMs, budget }, input.image, steps, true)).image;
    },
  };
}
