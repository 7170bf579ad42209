import type { Sharp } from 'sharp';
import { isFilterName, parseFilterParams, type FilterName } from '../../src/common/filter-catalog';
import { invalidInput } from '../../src/common/params';
import { colour } from './colour';
import { detail } from './detail';
import { encoding } from './encoding';
import { geometry } from './geometry';
import type { Operation, Size } from './operation';
import { overlay } from './overlay';

/** Every filter's sharp operation, by family; the compiler checks that each catalog entry has exactly one. */
const operations: { [F in FilterName]: Operation<F> } = { ...geometry, ...colour, ...detail, ...overlay, ...encoding };

/** Validates the parameters, then adds the filter's operation to the pipeline. */
export function applyFilter(image: Sharp, size: Size, filter: string, params: unknown): Sharp | Promise<Sharp> {
  if (!isFilterName(filter)) throw invalidInput(`unknown filter ${JSON.stringify(filter)}`);
  const operation = operations[filter] as Operation<FilterName>;
  return operation(image, parseFilterParams(filter, params), size);
}
