import type { Sharp } from 'sharp';
import { invalidInput } from '../params';
import { blur } from './blur';
import { isFilterName, parseFilterParams, type FilterName, type FilterParams } from './catalog';
import { crop } from './crop';
import { flip } from './flip';
import { flop } from './flop';
import { grayscale } from './grayscale';
import { modulate } from './modulate';
import { resize } from './resize';
import { rotate } from './rotate';
import { sepia } from './sepia';
import { sharpen } from './sharpen';
import type { Size } from './size';
import { thumbnail } from './thumbnail';
import { tint } from './tint';
import { watermark } from './watermark';

type Op<F extends FilterName> = (image: Sharp, params: FilterParams<F>, size: Size) => Sharp | Promise<Sharp>;

/** One sharp operation per filter. `output` changes no pixels: its activity encodes instead of storing raw. */
const ops: { [F in FilterName]: Op<F> } = {
  resize,
  crop,
  rotate,
  flip,
  flop,
  grayscale,
  sepia,
  blur,
  sharpen,
  modulate,
  tint,
  watermark,
  thumbnail,
  output: (image) => image,
};

/** Validates the parameters, then adds the filter's operation to the pipeline. */
export function applyFilter(image: Sharp, size: Size, filter: string, params: unknown): Sharp | Promise<Sharp> {
  if (!isFilterName(filter)) throw invalidInput(`unknown filter ${JSON.stringify(filter)}`);
  const op = ops[filter] as Op<FilterName>;
  return op(image, parseFilterParams(filter, params), size);
}
