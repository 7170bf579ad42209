// Workflow-safe core: every edit here is a workflow change, covered by the replay test (test/replay.test.ts).
import { invalidInput } from './params';
import { defaultOutputFormat, type StoredFormat } from './formats';
import type { FilterStep } from './types';
import { filterNames, isFilterName, parseFilterParams } from './filter-catalog';

export const MAX_CHAIN_LENGTH = 32;

/**
 * Checks a whole filter chain before any work starts, so bad input fails at once and leaves nothing half-done.
 * Pure: runs inside the workflow. `output` may appear once, last; the returned chain always ends with it.
 */
export function validateChain(steps: unknown): FilterStep[] {
  if (!Array.isArray(steps))
    throw invalidInput(`expected filters to be an array of steps, received ${JSON.stringify(steps)}`);
  if (steps.length > MAX_CHAIN_LENGTH) {
    throw invalidInput(`expected at most ${MAX_CHAIN_LENGTH} filters, received ${steps.length}`);
  }
  return steps.map((step: unknown, index) => {
    const { filter, params } = (step ?? {}) as Partial<FilterStep>;
    if (!isFilterName(filter)) {
      throw invalidInput(
        `filters[${index}]: unknown filter ${JSON.stringify(filter)}; expected one of ${filterNames.join(', ')}`,
      );
    }
    if (filter === 'output' && index !== steps.length - 1) {
      throw invalidInput(
        `filters[${index}]: output must be the last step, found at position ${index + 1} of ${steps.length}`,
      );
    }
    parseFilterParams(filter, params);
    return params === undefined ? { filter } : { filter, params };
  });
}

/** The chain as it runs: validated, ending in exactly one output step with a concrete format. */
export function completeChain(steps: FilterStep[], source: StoredFormat): FilterStep[] {
  const chain = validateChain(steps);
  const last = chain[chain.length - 1];
  const output = last?.filter === 'output' ? chain.pop()! : { filter: 'output' };
  return [...chain, { filter: 'output', params: { format: defaultOutputFormat(source), ...output.params } }];
}
