// Workflow-safe core: every edit here is a workflow change, covered by the replay test (test/replay.test.ts).
import { invalidInput } from './params';
import { defaultOutputFormat, MAX_OUTPUT_SIDE, type StoredFormat } from './formats';
import type { FilterStep, Size } from './types';
import {
  filterNames,
  filterOutputSize,
  isFilterName,
  MAX_IMAGE_PIXELS,
  parseFilterParams,
  type FilterName,
  type FilterParams,
} from './filter-catalog';
import { MAX_IMAGE_SIDE } from './image-ref';

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

/** Two very different shapes: a step whose output is the same for both does not depend on its input's size. */
const PROBES: [Size, Size] = [
  { width: 7919, height: 13 },
  { width: 17, height: 6007 },
];

const sameSize = (a: Size, b: Size) => a.width === b.width && a.height === b.height;

/**
 * Follows the image's size step by step through a validated chain and refuses it, naming the step, if any step
 * would make an image of more than MAX_IMAGE_PIXELS pixels or a side longer than libvips handles: such work could
 * only fail, after holding a worker's memory for nothing. Without the original's size (before the upload) only what
 * follows from steps whose size does not depend on their input is checked: crop, thumbnail, resize to both sides.
 */
export function checkChainSize(steps: FilterStep[], original?: Size): void {
  let size = original;
  steps.forEach((step, index) => {
    const filter = step.filter as FilterName;
    const params = parseFilterParams(filter, step.params);
    if (size) size = filterOutputSize(filter, params, size);
    else {
      const [a, b] = PROBES.map((probe) => filterOutputSize(filter, params, probe));
      if (sameSize(a, b)) size = a;
    }
    if (!size) return;
    const from = original ? ` from the ${original.width}x${original.height} upload` : '';
    const side = Math.max(size.width, size.height);
    if (size.width * size.height > MAX_IMAGE_PIXELS || side > MAX_IMAGE_SIDE) {
      throw invalidInput(
        `filters[${index}]: ${filter} would make a ${size.width}x${size.height} image (${size.width * size.height} ` +
          `pixels)${from}; expected at most ${MAX_IMAGE_PIXELS} pixels and ${MAX_IMAGE_SIDE} a side at every step`,
      );
    }
    const format = filter === 'output' ? (params as FilterParams<'output'>).format : undefined;
    if (format && side > MAX_OUTPUT_SIDE[format]) {
      throw invalidInput(
        `filters[${index}]: output: expected an image of at most ${MAX_OUTPUT_SIDE[format]} pixels a side for ` +
          `format ${format}, the chain would make ${size.width}x${size.height}${from}`,
      );
    }
  });
}
