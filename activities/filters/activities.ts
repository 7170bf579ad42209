import type { BlobStore } from '../../src/lib/blob-store';
import { filterNames, parseFilterParams, type FilterName, type FilterParams } from '../../src/common/filter-catalog';
import { defaultOutputFormat } from '../../src/common/formats';
import { checkImageRef } from '../../src/common/image-ref';
import { applyFilter } from './operations';
import { heartbeatingSleep, withHeartbeat } from '../shared/heartbeat';
import { openImage, storeEncoded, storeRaw } from '../shared/image-io';
import type { FilterInput, ImageRef } from '../../src/common/types';

export type FilterActivities = Record<FilterName, (input: FilterInput) => Promise<ImageRef>>;

export interface FilterDeps {
  store: BlobStore;
  /** Extra time each filter takes, heartbeating: makes crash recovery visible in demos and crash tests. */
  delayMs?: number;
}

/**
 * One activity per filter, each its own nano-service with its own activity type. Each reads its input image from
 * the blob store, applies one operation and stores the result: raw pixels between steps, encoded once at `output`.
 */
export function createFilterActivities({ store, delayMs = 0 }: FilterDeps): FilterActivities {
  const activity = (filter: FilterName) =>
    async function (input: FilterInput): Promise<ImageRef> {
      const image = checkImageRef(filter, input?.image);
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
