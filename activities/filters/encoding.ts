import type { OperationFamily } from './operation';

/** `output` changes no pixels: its activity encodes the pipeline (format, quality) instead of storing raw pixels. */
export const encoding = {
  output: (image) => image,
} satisfies OperationFamily;
