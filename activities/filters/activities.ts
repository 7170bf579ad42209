import type { BlobStore } from '../../src/lib/blob-store';
import { DEFAULT_PIXEL_BUDGET } from '../../src/lib/config';
import { Context } from '@temporalio/activity';
import {
  filterNames,
  filterOutputSize,
  parseFilterParams,
  type FilterName,
  type FilterParams,
} from '../../src/common/filter-catalog';
import { defaultOutputFormat } from '../../src/common/formats';
import { checkImageRef, SCRATCH_SCOPE } from '../../src/common/image-ref';
import { applyFilter } from './operations';
import { heartbeatingSleep, withHeartbeat } from '../shared/heartbeat';
import { openBuffer, renderEncoded, renderRaw, storeRendered, type Rendered } from '../shared/image-io';
import { PixelBudget } from '../shared/pixel-budget';
import { processingFailure } from './processing-failure';
import { invalidInput } from '../../src/common/params';
import type { FilterInput, ImageRef } from '../../src/common/types';

export type FilterActivities = Record<FilterName, (input: FilterInput) => Promise<ImageRef>>;

export interface FilterDeps {
  store: BlobStore;
  /** Extra time each filter takes, heartbeating: makes crash recovery visible in demos and crash tests. */
  delayMs?: number;
  /** Shared by every filter activity of a worker; without one, these activities get a budget of their own. */
  budget?: PixelBudget;
}

/**
 * One activity per filter, each its own nano-service with its own activity type. Each reads its input image from
 * the blob store, applies one operation and stores the result: raw pixels between steps, encoded once at `output`.
 * Before reading, it waits until the pixels it will hold (its input and its output) fit in the worker's budget.
 */
export function createFilterActivities({
  store,
  delayMs = 0,
  budget = new PixelBudget(DEFAULT_PIXEL_BUDGET),
}: FilterDeps): FilterActivities {
  const activity = (filter: FilterName) =>
    async function (input: FilterInput): Promise<ImageRef> {
      const image = checkImageRef(filter, input?.image);
      const params = parseFilterParams(filter, input.params);
      const scope = checkScratch(filter, input.scratch);
      if (delayMs > 0) await heartbeatingSleep(delayMs);
      const output = filterOutputSize(filter, params, image);
      const pixels = image.width * image.height + output.width * output.height;
      return withHeartbeat(
        () =>
          budget.run(
            pixels,
            async () => {
              const data = await store.get(image.key);
              const rendered = await render(data, image, filter, params).catch((err: unknown) => {
                throw processingFailure(filter, err);
              });
              return storeRendered(store, rendered, scope);
            },
            Context.current().cancellationSignal,
          ),
        { filter },
      );
    };
  return Object.fromEntries(filterNames.map((name) => [name, activity(name)])) as FilterActivities;
}

function checkScratch(filter: FilterName, scratch: unknown): string | undefined {
  if (scratch === undefined || (typeof scratch === 'string' && SCRATCH_SCOPE.test(scratch))) return scratch;
  throw invalidInput(
    `${filter}: expected scratch to be a run's scope (1-64 letters, digits or '-'), received ${JSON.stringify(scratch)}`,
  );
}

/** The sharp part of a filter, on bytes in memory: raw pixels between steps, the encoded image at `output`. */
async function render<F extends FilterName>(
  data: Buffer,
  image: ImageRef,
  filter: F,
  params: FilterParams<F>,
): Promise<Rendered> {
  const pipeline = await applyFilter(openBuffer(data, image), image, filter, params);
  if (filter !== 'output') return renderRaw(pipeline);
  const output = params as FilterParams<'output'>;
  return renderEncoded(pipeline, output.format ?? defaultOutputFormat(image.format), output.quality);
}
