import { ApplicationFailure } from '@temporalio/common';
import { MAX_IMAGE_PIXELS } from '../../src/common/filter-catalog';
import { invalidInput } from '../../src/common/params';

/** libvips running out of memory may pass on a retry, on this worker later or on another one. */
const TRANSIENT = /out of memory|vips_malloc|cannot allocate|ENOMEM/i;

/**
 * What a failure inside a sharp pipeline means. The pipeline works on bytes already in memory, so what sharp says
 * about these pixels and this operation (over the pixel limit, too large for a format, an operation this image does
 * not support) it will say on every attempt: non-retryable InvalidInput, on the first attempt. Out-of-memory is
 * retried; so are errors of other kinds (a TypeError is a bug here, not bad input).
 */
export function processingFailure(filter: string, err: unknown): unknown {
  if (err instanceof ApplicationFailure || !(err instanceof Error) || err.constructor !== Error) return err;
  const detail = [...new Set(err.message.split('\n').filter(Boolean))].join('; '); // libvips repeats lines
  if (TRANSIENT.test(detail)) return new Error(`${filter}: ${detail}`, { cause: err });
  if (/pixel limit/i.test(detail)) {
    return invalidInput(`${filter}: expected an image of at most ${MAX_IMAGE_PIXELS} pixels (sharp: ${detail})`);
  }
  return invalidInput(`${filter}: cannot be applied to this image (sharp: ${detail})`);
}
