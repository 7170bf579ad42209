import { ApplicationFailure } from '@temporalio/common';
import { Context } from '@temporalio/activity';
import { invalidInput } from '../../src/common/params';
import type { SweepInput, SweepSummary } from '../../src/common/retention';
import { SCRATCH_FOLDER, type ContentAddressedStore, type ObjectInfo } from '../../src/lib/blob-store';
import { tally } from './scratch';

export interface SweepDeps {
  store: ContentAddressedStore;
  /** NANO_PHOTOS_RETENTION of this worker: no sweep deletes anything younger, whatever its input says. */
  retentionMs: number;
}

/** Worker clocks and the server's (workflow time) may differ a little. */
const CLOCK_SLACK_MS = 5 * 60_000;
/**
 * A scratch folder whose run Temporal does not know: visibility may lag behind a run that has just started, so it is
 * deleted only once it has not been written to for this long (by then its run was removed by namespace retention).
 */
const UNKNOWN_RUN_GRACE_MS = 3_600_000;

const SHARED_NAME = /^([0-9a-f]{2})\/\1[0-9a-f]{62}\.[a-z0-9]{1,5}$/;
const SCRATCH_NAME = /^scratch\/([A-Za-z0-9-]{1,64})\/[0-9a-f]{64}\.[a-z0-9]{1,5}$/;
const SHARED_FOLDERS = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

type RunState = 'running' | 'ended' | 'unknown';

/** Whether a run is still going, asked of Temporal's visibility by its run ID (the scratch scope). */
async function runState(runId: string): Promise<RunState> {
  for await (const run of Context.current().client.workflow.list({ query: `RunId = '${runId}'` })) {
    return run.status.name === 'RUNNING' ? 'running' : 'ended';
  }
  return 'unknown';
}

function checkCutoff(input: SweepInput, retentionMs: number): Date {
  const cutoff = new Date(typeof input?.cutoff === 'string' ? input.cutoff : NaN);
  if (Number.isNaN(cutoff.getTime()))
    throw invalidInput(`sweepStore: expected cutoff to be an ISO 8601 time, received ${JSON.stringify(input?.cutoff)}`);
  const latest = Date.now() - retentionMs + CLOCK_SLACK_MS;
  if (cutoff.getTime() > latest) {
    throw ApplicationFailure.nonRetryable(
      `sweepStore: cutoff ${cutoff.toISOString()} is later than this worker's retention allows ` +
        `(NANO_PHOTOS_RETENTION ${retentionMs / 86_400_000} days: ${new Date(latest).toISOString()}); ` +
        'the sweep was started with a shorter retention than this worker has',
      'RetentionTooShort',
    );
  }
  return cutoff;
}

/**
 * The store's sweep: deletes (a) the scratch folders of runs that have ended without deleting them (a terminated
 * run runs no cleanup) and (b) originals and outputs last written or used before the cutoff. The gallery's copies
 * are another store and are left alone, as is anything in the store that is not a blob (probes, a gallery sharing
 * the bucket). Heartbeats per folder; a retry starts over, finding done what was done.
 */
export function createSweepActivities({ store, retentionMs }: SweepDeps) {
  return {
    async sweepStore(input: SweepInput): Promise<SweepSummary> {
      const cutoff = checkCutoff(input, retentionMs);
      const { objects } = store;
      const summary: SweepSummary = {
        cutoff: cutoff.toISOString(),
        scratch: { runs: 0, objects: 0, bytes: 0 },
        running: 0,
        expired: { objects: 0, bytes: 0 },
        kept: { objects: 0, bytes: 0 },
      };

      const byRun = new Map<string, ObjectInfo[]>();
      for (const o of await objects.listAll(`${SCRATCH_FOLDER}/`)) {
        const scope = SCRATCH_NAME.exec(o.name)?.[1];
        if (scope) byRun.set(scope, [...(byRun.get(scope) ?? []), o]);
      }
      for (const [scope, files] of byRun) {
        Context.current().heartbeat(`scratch ${scope}`);
        const state = await runState(scope);
        const newest = Math.max(...files.map((f) => f.modified.getTime()));
        if (state === 'running' || (state === 'unknown' && newest > Date.now() - UNKNOWN_RUN_GRACE_MS)) {
          summary.running++;
          continue;
        }
        const removed = tally(await store.deleteScratch(scope));
        summary.scratch.runs++;
        summary.scratch.objects += removed.objects;
        summary.scratch.bytes += removed.bytes;
      }

      for (const folder of SHARED_FOLDERS) {
        Context.current().heartbeat(`folder ${folder}`);
        for (const o of await objects.list(`${folder}/`)) {
          if (!SHARED_NAME.test(o.name)) continue;
          // Looked at again just before: a run may have used these bytes again since the listing (put touches them).
          const now = o.modified < cutoff ? await objects.head(o.name) : o;
          if (now && now.modified < cutoff) {
            await objects.delete(o.name);
            summary.expired.objects++;
            summary.expired.bytes += now.bytes;
          } else if (now) {
            summary.kept.objects++;
            summary.kept.bytes += now.bytes;
          }
        }
      }
      return summary;
    },
  };
}

export type SweepActivities = ReturnType<typeof createSweepActivities>;
