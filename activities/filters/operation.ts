import type { Sharp } from 'sharp';
import type { FilterName, FilterParams } from '../../src/common/filter-catalog';
import type { Size } from '../../src/common/types';

/** The dimensions of the image a filter receives, for filters whose work depends on them. */
export type { Size } from '../../src/common/types';

/** One filter's sharp operation: adds its step to the pipeline, with parameters already validated. */
export type Operation<F extends FilterName> = (
  image: Sharp,
  params: FilterParams<F>,
  size: Size,
) => Sharp | Promise<Sharp>;

/** A family of operations, as sharp's lib/ groups them; each key must be a filter in the catalog. */
export type OperationFamily = { [F in FilterName]?: Operation<F> };
