import { proxyActivities } from '@temporalio/workflow';
import type { SweepActivities } from '../activities/store/sweep';
import { invalidInput } from '../src/common/params';
import type { SweepStoreInput, SweepSummary } from '../src/common/retention';
import { sweepOptions } from './activity-options';

const { sweepStore: sweep } = proxyActivities<SweepActivities>(sweepOptions);

/**
 * Keeps the blob store bounded: run by a Temporal Schedule (src/lib/store-sweep.ts) or `npm run photo -- sweep`.
 * The cutoff is workflow time minus the retention; the filter service, which owns the store, deletes what is older
 * and the intermediates of runs that ended without deleting theirs.
 */
export async function sweepStore(input: SweepStoreInput): Promise<SweepSummary> {
  const retentionMs = input?.retentionMs;
  if (!Number.isInteger(retentionMs) || retentionMs < 0) {
    throw invalidInput(
      `sweepStore: expected retentionMs to be a whole number of milliseconds, received ${JSON.stringify(retentionMs)}`,
    );
  }
  return sweep.executeWithOptions({ summary: 'sweep the blob store' }, [
    { cutoff: new Date(Date.now() - retentionMs).toISOString() },
  ]);
}
