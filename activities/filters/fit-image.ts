import { ApplicationFailure } from '@temporalio/common';
import type { BlobStore } from '../../src/lib/blob-store';
import { OUTPUT_FORMATS } from '../../src/common/formats';
import { checkImageRef } from '../../src/common/image-ref';
import { invalidInput } from '../../src/common/params';
import type { ImageLimits } from '../../src/common/share-limits';
import type { ImageRef } from '../../src/common/types';
import { withHeartbeat } from '../shared/heartbeat';
import { encode, openImage, storeEncodedData } from '../shared/image-io';

export interface FitImageInput {
  image: ImageRef;
  limits: ImageLimits;
}

export const IMAGE_DOES_NOT_FIT = 'ImageDoesNotFit';

/**
 * The ladder tried in order: each size with falling JPEG quality, then 3/4 of the size. A fixed ladder over the
 * same input bytes and the same libvips gives the same variant on every attempt and every worker.
 */
const QUALITIES = [90, 82, 74, 66, 58, 50];
const SHRINK = 0.75;
/** Below this a photo is no longer worth posting; an image that needs it fails instead. */
const MIN_SIDE = 320;

function checkLimits(limits: unknown): ImageLimits {
  const l = limits as Partial<ImageLimits> | undefined;
  const positive = (n: unknown) => Number.isInteger(n) && (n as number) > 0;
  if (
    !l ||
    !positive(l.maxBytes) ||
    !positive(l.maxSide) ||
    !Array.isArray(l.formats) ||
    !l.formats.every((f) => (OUTPUT_FORMATS as readonly string[]).includes(f))
  ) {
    throw invalidInput(
      `fitImage: expected limits to be {maxBytes, maxSide: positive integers, formats: some of ${OUTPUT_FORMATS.join(', ')}}, ` +
        `received ${JSON.stringify(limits)}`,
    );
  }
  return l as ImageLimits;
}

export const fits = (image: ImageRef, limits: ImageLimits) =>
  limits.formats.includes(image.format as (typeof limits.formats)[number]) &&
  image.bytes <= limits.maxBytes &&
  Math.max(image.width, image.height) <= limits.maxSide;

/**
 * An image service: the run's output as a share target can take it. An output that fits already is returned as it
 * is (the target gets the very bytes of the run); otherwise a JPEG variant, scaled to fit maxSide, at the highest
 * quality of the ladder that meets maxBytes. Transparency is flattened onto white (JPEG has none).
 */
export function createFitActivities({ store }: { store: BlobStore }) {
  return {
    async fitImage(input: FitImageInput): Promise<ImageRef> {
      const image = checkImageRef('fitImage', input?.image, OUTPUT_FORMATS);
      const limits = checkLimits(input.limits);
      if (fits(image, limits)) return image;
      return withHeartbeat(async () => {
        const largest = Math.min(limits.maxSide, Math.max(image.width, image.height));
        for (let side = largest; side >= Math.min(MIN_SIDE, largest);) {
          for (const quality of QUALITIES) {
            const pipeline = (await openImage(store, image))
              .resize(side, side, { fit: 'inside', withoutEnlargement: true })
              .flatten({ background: '#ffffff' });
            // Only the variant that fits is stored: the rungs that did not leave nothing behind.
            const data = await encode(pipeline, 'jpeg', quality);
            if (data.length <= limits.maxBytes) return storeEncodedData(store, data, 'jpeg');
          }
          side = Math.floor(side * SHRINK);
        }
        throw ApplicationFailure.nonRetryable(
          `fitImage: no JPEG of at least ${MIN_SIDE} px on the long side fits in ${limits.maxBytes} bytes (maxBytes); ` +
            `the image is ${image.width}×${image.height} ${image.format}, ${image.bytes} bytes`,
          IMAGE_DOES_NOT_FIT,
        );
      });
    },
  };
}

export type FitActivities = ReturnType<typeof createFitActivities>;
