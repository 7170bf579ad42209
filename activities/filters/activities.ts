import type { BlobStore } from '../../src/lib/blob-store';
import { Context } from '@temporalio/activity';
import {
  filterNames,
  filterOutputSize,
  parseFilterParams,
  type FilterName,
  type FilterParams,
} from '../../src/common/filter-catalog';
import { defaultOutputFormat } from '../../src/common/formats';
import { validateChain } from '../../src/common/filter-chain';
import { checkImageRef, HELD_KEY, SCRATCH_SCOPE } from '../../src/common/image-ref';
import { applyFilter } from './operations';
import { withHeartbeat } from '../shared/heartbeat';
import { openBuffer, renderEncoded, renderRaw, storeRendered, type Rendered } from '../shared/image-io';
import { DEFAULT_PIXEL_BUDGET, PixelBudget } from '../shared/pixel-budget';
import { processingFailure } from './processing-failure';
import { invalidInput } from '../../src/common/params';
import type { FilterInput, FilterStep, ImageRef, Recipe } from '../../src/common/types';
import { ChainStore } from './chain-store';
import { HeldImages } from './held-images';

export type FilterActivities = Record<FilterName, (input: FilterInput) => Promise<ImageRef>>;

export interface FilterDeps {
  store: BlobStore;
  /** Extra time each filter takes, heartbeating: makes crash recovery visible in demos and crash tests. */
  delayMs?: number;
  /** Shared by every filter activity of a worker; without one, these activities get a budget of their own. */
  budget?: PixelBudget;
  /** The intermediates this worker holds (runs with `intermediates: 'memory'`); without one, a store of their own. */
  held?: HeldImages;
  /** This worker's own task queue, where the run's next step finds what it holds; unset: the next step goes anywhere. */
  heldQueue?: string;
}

/**
 * One activity per filter, each its own nano-service with its own activity type. Each reads its input image from
 * the blob store, applies one operation and stores the result: raw pixels between steps, encoded once at `output`.
 * Before reading, it waits until the pixels it will hold (its input and its output) fit in the worker's budget.
 * Runs with `intermediates: 'memory'` ask each step before the output to hold its result in this worker's memory
 * (`hold`), and give a held input's recipe: when it is no longer held here, the step makes it again from the
 * original.
 */
export function createFilterActivities({
  store,
  delayMs = 0,
  budget = new PixelBudget(DEFAULT_PIXEL_BUDGET),
  held = new HeldImages(),
  heldQueue,
}: FilterDeps): FilterActivities {
  /** A held input that is gone, made again in memory: the recipe's steps, each as its own filter would. */
  async function remake(filter: FilterName, recipe: Recipe, image: ImageRef): Promise<Buffer> {
    const { image: made, chain } = await runInMemory({ store, budget }, recipe.original, recipe.steps, false);
    if (made.format !== 'raw' || made.width !== image.width || made.height !== image.height) {
      throw invalidInput(
        `${filter}: recipe makes a ${made.width} x ${made.height} ${made.format} image; expected the ` +
          `${image.width} x ${image.height} raw image ${image.key}`,
      );
    }
    return chain.get(made.key);
  }

  const activity = (filter: FilterName) =>
    async function (input: FilterInput): Promise<ImageRef> {
      const image = checkImageRef(filter, input?.image);
      const params = parseFilterParams(filter, input.params);
      const scope = checkScratch(filter, input.scratch);
      const hold = checkHold(filter, input.hold, scope);
      const recipe = HELD_KEY.test(image.key) ? checkRecipe(filter, input.recipe) : undefined;
      const output = filterOutputSize(filter, params, image);
      const pixels = image.width * image.height + output.width * output.height;
      return withHeartbeat(
        async () => {
          // The crash demos' slowdown, heartbeating like the work (and cancelled like it), holding no pixels.
          if (delayMs > 0) await Context.current().sleep(delayMs);
          // Made again before this step asks for its pixels: each step of the recipe asks for its own.
          const heldInput = recipe && (held.take(image.key) ?? (await remake(filter, recipe, image)));
          return budget.run(
            pixels,
            async () => {
              const data = heldInput ?? (await store.get(image.key));
              const rendered = await render(data, image, filter, params).catch((err: unknown) => {
                throw processingFailure(filter, err);
              });
              return hold ? holdRendered(held, rendered, heldQueue) : storeRendered(store, rendered, scope);
            },
            Context.current().cancellationSignal,
          );
        },
        { filter },
      );
    };
  return Object.fromEntries(filterNames.map((name) => [name, activity(name)])) as FilterActivities;
}

/**
 * `steps` one after another in this process, each as its own filter activity runs it, their results in memory
 * (ChainStore); with `storeLast`, the last one goes to the real store.
 */
export async function runInMemory(deps: FilterDeps, image: ImageRef, steps: FilterStep[], storeLast: boolean) {
  const chain = new ChainStore(deps.store);
  const filters = createFilterActivities({ ...deps, store: chain });
  for (const [index, step] of steps.entries()) {
    chain.persistNext = storeLast && index === steps.length - 1;
    image = await filters[step.filter as FilterName]({ image, params: step.params });
  }
  return { image, chain };
}

/** A result kept in this worker's memory: its key is random, and stands in for the hash too (nothing is hashed). */
function holdRendered(held: HeldImages, { data, ...image }: Rendered, heldQueue: string | undefined): ImageRef {
  const { key, id } = held.hold(data);
  return { key, sha256: id, bytes: data.length, ...image, ...(heldQueue ? { heldBy: heldQueue } : {}) };
}

function checkHold(filter: FilterName, hold: unknown, scope: string | undefined): boolean {
  if (hold === undefined || hold === false) return false;
  if (hold === true && filter !== 'output' && scope === undefined) return true;
  throw invalidInput(
    `${filter}: expected hold to be true or false (true only before the output step, and not with scratch), ` +
      `received ${JSON.stringify(hold)}`,
  );
}

function checkRecipe(filter: FilterName, recipe: unknown): Recipe {
  const { original, steps } = (recipe ?? {}) as Partial<Recipe>;
  if (!original || !Array.isArray(steps)) {
    throw invalidInput(
      `${filter}: expected recipe to be {original, steps} for an image held in memory, received ${JSON.stringify(recipe)}`,
    );
  }
  const chain = validateChain(steps);
  if (chain.some((step) => step.filter === 'output')) {
    throw invalidInput(`${filter}: expected recipe.steps to make an intermediate, without an output step`);
  }
  return { original: checkImageRef(`${filter}: recipe.original`, original), steps: chain };
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
