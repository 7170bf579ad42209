import type { OperationFamily } from './operation';

/** Convolutions: operations that soften or sharpen detail. */
export const detail = {
  blur: (image, p) => image.blur(p.sigma),
  sharpen: (image, p) => image.sharpen({ sigma: p.sigma }),
} satisfies OperationFamily;
