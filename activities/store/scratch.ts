import { SCRATCH_SCOPE } from '../../src/common/image-ref';
import { invalidInput } from '../../src/common/params';
import type { Tally } from '../../src/common/retention';
import type { ContentAddressedStore, ObjectInfo } from '../../src/lib/blob-store';

export interface ScratchInput {
  /** The run's scratch scope, as its filter steps were given it. */
  scope: string;
}

export const tally = (objects: readonly ObjectInfo[]): Tally => ({
  objects: objects.length,
  bytes: objects.reduce((sum, o) => sum + o.bytes, 0),
});

/**
 * The end of a run's filters: its intermediates (raw pixels, the largest blobs a run makes) are deleted at once,
 * whatever the ending, so a run keeps only its original and its output. Idempotent: a retry finds nothing left.
 */
export function createScratchActivities({ store }: { store: ContentAddressedStore }) {
  return {
    async deleteScratch(input: ScratchInput): Promise<Tally> {
      const scope = input?.scope;
      if (typeof scope !== 'string' || !SCRATCH_SCOPE.test(scope)) {
        throw invalidInput(
          `deleteScratch: expected scope to be a run's scope (1-64 letters, digits or '-'), received ${JSON.stringify(scope)}`,
        );
      }
      return tally(await store.deleteScratch(scope));
    },
  };
}

export type ScratchActivities = ReturnType<typeof createScratchActivities>;
