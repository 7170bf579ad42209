import { checkKey, type BlobStore } from '../../src/lib/blob-store';
import { filterNames, parseFilterParams, type FilterName, type FilterParams } from '../../src/common/filter-catalog';
import { defaultOutputFormat } from '../../src/common/filter-chain';
import { applyFilter } from './operations';
import { heartbeatingSleep, withHeartbeat } from '../shared/heartbeat';
import { openImage, storeEncoded, storeRaw } from '../shared/image-io';
import { invalidInput } from '../../src/common/params';
import type { FilterInput, ImageRef } from '../../src/common/types';

export type FilterActivities = Record<FilterName, (input: FilterInput) => Promise<ImageRef>>;

export interface FilterDeps {
  store: BlobStore;
  /** Extra time each filter takes, heartbeating: makes crash recovery visible in demos and crash tests. */
  delayMs?: number;
}

const MAX_SIDE = 65_535;
const FORMATS: readonly string[] = [
  'raw',
  'jpeg',
  'png',
  'webp',
  'avif',
  'gif',
  'tiff',
  'heif',
  'svg',
] satisfies ImageRef['format'][];

/** The image reference arrives from workflow history or a hand-written CLI input: check it like any parameter. */
function checkImageRef(image: unknown): ImageRef {
  const ref = image as Partial<ImageRef> | undefined;
  const sideOk = (n: unknown) => Number.isInteger(n) && (n as number) >= 1 && (n as number) <= MAX_SIDE;
  if (!ref || typeof ref.key !== 'string' || !sideOk(ref.width) || !sideOk(ref.height)) {
    throw invalidInput(
      `expected image to be an image reference {key, format, width, height, ...}, received ${JSON.stringify(image)}`,
    );
  }
  try {
    checkKey(ref.key);
  } catch (err) {
    throw invalidInput(`image.key: ${(err as Error).message}`);
  }
  if (!FORMATS.includes(ref.format as string)) {
    throw invalidInput(
      `expected image.format to be one of ${FORMATS.join(', ')}, received ${JSON.stringify(ref.format)}`,
    );
  }
  // Raw pixels are described by the reference alone: sharp reads 1 to 4 channels.
  if (ref.format === 'raw' && !(Number.isInteger(ref.channels) && ref.channels! >= 1 && ref.channels! <= 4)) {
    throw invalidInput(
      `expected image.channels of a raw image to be an integer between 1 and 4, received ${JSON.stringify(ref.channels)}`,
    );
  }
  return ref as ImageRef;
}

/**
 * One activity per filter, each its own nano-service with its own activity type. Each reads its input image from
 * the blob store, applies one operation and stores the result: raw pixels between steps, encoded once at `output`.
 */
export function createFilterActivities({ store, delayMs = 0 }: FilterDeps): FilterActivities {
  const activity = (filter: FilterName) =>
    async function (input: FilterInput): Promise<ImageRef> {
      const image = checkImageRef(input?.image);
      const params = parseFilterParams(filter, input.params);
      if (delayMs > 0) await heartbeatingSleep(delayMs);
      return withHeartbeat(
        async () => {
          const pipeline = await applyFilter(await openImage(store, image), image, filter, params);
          if (filter !== 'output') return storeRaw(store, pipeline);
          const output = params as FilterParams<'output'>;
          return storeEncoded(store, pipeline, output.format ?? defaultOutputFormat(image.format), output.quality);
        },
        { filter },
      );
    };
  return Object.fromEntries(filterNames.map((name) => [name, activity(name)])) as FilterActivities;
}
