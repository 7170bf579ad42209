import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import type { History } from '@temporalio/common/lib/proto-utils';
import { Worker, type ReplayResult } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { filterNames } from '../src/common/filter-catalog';
import { TASK_QUEUES } from '../src/common/task-queues';
import { historyFromJson } from '../src/lib/history-json';
import { workflowBundle } from './support/temporal';

/**
 * Determinism: the current workflow code must replay every history recorded from earlier versions
 * (test/fixtures/, written by `npm run record-histories`). A change that would break runs still open when it is
 * deployed fails here instead of in production.
 */

const FIXTURES = path.join(__dirname, 'fixtures');
/**
 * The workflow's patches (see processPhoto), oldest first, each with what a run must reach to take its guarded path
 * (a run that never gets there replays the same either way); fixtures must cover runs from before and after each.
 * The umbrella patches stand for every patch before them in runs started since (each patched() call costs a run a
 * marker and a search-attribute update): a run with one asks no other.
 */
const ONE_PATCH = 'one-patch-for-all';
const LEAN_PATCH = 'lean-bookkeeping';
const UMBRELLAS = [ONE_PATCH, LEAN_PATCH];
const PATCHES: { id: string; reaches?(fixture: Fixture): boolean }[] = [
  { id: 'memo-records-output', reaches: (f) => reachesShare(f) },
  { id: 'search-attributes-per-stage', reaches: (f) => reachesShare(f) },
  // Intermediates in the run's scratch, deleted when the filters end, failed or not: runs with a step before output.
  {
    id: 'run-scratch',
    reaches: (f) => activityTypes(f).some((t) => t !== 'output' && (filterNames as readonly string[]).includes(t)),
  },
  // It changes no command but the markers, so the mutant check below does not apply to it.
  { id: ONE_PATCH },
  // Its own change: a completed run sets no PhotoStep at the end (and labels sent with the start are not set again).
  { id: LEAN_PATCH, reaches: (f) => events(f).some((e) => e.workflowExecutionCompletedEventAttributes) },
];
const PATCH_IDS = PATCHES.map((p) => p.id);
/**
 * The patch that refuses oversized chains and makes cancellation wait and compensate. It changes the commands only
 * of runs that are too large or cancelled, so the mutant check below, which needs ordinary runs, does not apply.
 */
const GUARDS_PATCH = 'size-limit-cancel-compensation';

interface Fixture {
  /** The file name without .json: also the workflow ID the run was recorded under. */
  workflowId: string;
  history: History;
}

const fixtures: Fixture[] = readdirSync(FIXTURES)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => ({
    workflowId: f.slice(0, -'.json'.length),
    history: historyFromJson(JSON.parse(readFileSync(path.join(FIXTURES, f), 'utf8'))),
  }));

/** processPhoto without its patched() guard (test/workflows/mutant-no-patch-guard.ts). */
const UNGUARDED_SDK = path.join(__dirname, 'workflows', 'mutant-no-patch-guard.ts');

async function replay(histories: Fixture[], sdk?: string): Promise<ReplayResult[]> {
  const results: ReplayResult[] = [];
  for await (const result of Worker.runReplayHistories(
    { workflowBundle: await workflowBundle(undefined, sdk) },
    histories,
  )) {
    results.push(result);
  }
  return results;
}

const events = (fixture: Fixture) => fixture.history.events ?? [];
const patchesOf = (fixture: Fixture) =>
  events(fixture)
    .filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_patch')
    .map((e) => {
      // Core's patch marker: details["patch-data"] holds {"id": "<patch id>", "deprecated": false}.
      const data = e.markerRecordedEventAttributes!.details?.['patch-data']?.payloads?.[0]?.data;
      return data ? (JSON.parse(Buffer.from(data).toString('utf8')) as { id: string }).id : undefined;
    });
const activityTypes = (fixture: Fixture) =>
  events(fixture).flatMap((e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? []);
const reachesShare = (fixture: Fixture) => activityTypes(fixture).some((t) => t.startsWith('share'));
/** Recorded by code from before patch `id`: without its marker or any later patch's. */
const recordedBefore = (fixture: Fixture, id: string) =>
  PATCH_IDS.slice(PATCH_IDS.indexOf(id)).every((later) => !patchesOf(fixture).includes(later));
/** Patches whose guarded commands the mutant check covers. */
const GUARDED = PATCHES.flatMap(({ id, reaches }) => (reaches ? [{ id, reaches }] : []));

describe('replaying recorded histories', () => {
  let results: ReplayResult[];

  before(async () => {
    results = await replay(fixtures);
  });

  it('has fixtures to replay, from before and after each patch, and of the fused path', () => {
    assert.ok(fixtures.length >= 4, `found ${fixtures.length} fixtures in ${FIXTURES}`);
    for (const { id, reaches } of GUARDED) {
      const before = fixtures.filter((f) => reaches(f) && recordedBefore(f, id));
      const after = fixtures.filter((f) => reaches(f) && !recordedBefore(f, id));
      assert.ok(
        before.length > 0,
        `no history reaches the code the ${id} patch guards without its marker: the old path is not covered`,
      );
      assert.ok(after.length > 0, `no history was recorded with the ${id} patch: the new path is not covered`);
    }
    const fused = fixtures.filter((f) => activityTypes(f).includes('applyChain') && reachesShare(f));
    assert.ok(fused.length > 0, 'no history takes the fuse: true branch (applyChain) through to the share step');
  });

  it(`has fixtures from before and after the ${GUARDS_PATCH} patch, a cancelled run among them`, () => {
    const without = fixtures.filter((f) => reachesShare(f) && !patchesOf(f).includes(GUARDS_PATCH));
    const withIt = fixtures.filter((f) => patchesOf(f).includes(GUARDS_PATCH));
    assert.ok(without.length > 0 && withIt.length > 0, `${without.length} before, ${withIt.length} after`);
    // The cancelled run removed its gallery entry after the cancellation: the compensation path is replayed too.
    const cancelled = withIt.find((f) => events(f).some((e) => e.workflowExecutionCanceledEventAttributes));
    assert.ok(cancelled, `a cancelled run recorded with the ${GUARDS_PATCH} patch`);
    const cancelAt = events(cancelled).findIndex((e) => e.workflowExecutionCancelRequestedEventAttributes);
    const compensation = events(cancelled)
      .slice(cancelAt)
      .some((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'unpublishGallery');
    assert.ok(compensation, 'unpublishGallery was scheduled after the cancellation was requested');
  });

  for (const umbrella of UMBRELLAS) {
    it(`has fixtures recorded with the ${umbrella} patch alone, of every path its runs take`, () => {
      const withIt = fixtures.filter((f) => patchesOf(f).includes(umbrella));
      for (const fixture of withIt) assert.deepEqual(patchesOf(fixture), [umbrella], fixture.workflowId);
      const paths: Record<string, (f: Fixture) => boolean> = {
        'intermediates in the run scratch (deleteScratch)': (f) => activityTypes(f).includes('deleteScratch'),
        'intermediates held (steps on the holder queue)': (f) =>
          events(f).some((e) =>
            e.activityTaskScheduledEventAttributes?.taskQueue?.name?.startsWith(`${TASK_QUEUES.filter}-held-`),
          ),
        'fused (applyChain)': (f) => activityTypes(f).includes('applyChain') && reachesShare(f),
        'cancelled, compensated': (f) =>
          events(f).some((e) => e.workflowExecutionCanceledEventAttributes) &&
          activityTypes(f).includes('unpublishGallery'),
      };
      if (umbrella === LEAN_PATCH) {
        // Labels sent with the start request (the project's clients), or set by a run started without them.
        const titled = (f: Fixture) => !!events(f)[0]?.workflowExecutionStartedEventAttributes?.memo?.fields?.title;
        const setsTitle = (f: Fixture) =>
          events(f).some((e) => !!e.workflowPropertiesModifiedEventAttributes?.upsertedMemo?.fields?.title);
        paths['completed, labelled at start'] = (f) => titled(f) && !setsTitle(f) && reachesShare(f);
        paths['completed, started by hand'] = (f) => !titled(f) && setsTitle(f) && reachesShare(f);
      }
      for (const [name, takes] of Object.entries(paths)) {
        assert.ok(withIt.some(takes), `no history recorded with the ${umbrella} patch takes the path: ${name}`);
      }
    });
  }

  for (const fixture of fixtures) {
    it(`${fixture.workflowId} replays without a determinism error`, () => {
      const result = results.find((r) => r.workflowId === fixture.workflowId);
      assert.ok(result, `no replay result for ${fixture.workflowId}`);
      assert.equal(result.error, undefined, `${fixture.workflowId}: ${result.error?.message}`);
    });
  }

  it('fails the workflow without its patched() guards on every run recorded before a patch', async () => {
    // The mutant is the real workflow code with the guards gone; the histories it must break are the ones that got
    // as far as the guarded steps (the share, a step before the output) without a patch marker: runs started before a
    // change.
    const before = fixtures.filter((f) => GUARDED.some(({ id, reaches }) => reaches(f) && recordedBefore(f, id)));
    assert.ok(before.length > 0);
    const mutant = await replay(before, UNGUARDED_SDK);
    for (const fixture of before) {
      const result = mutant.find((r) => r.workflowId === fixture.workflowId);
      assert.ok(
        result?.error instanceof DeterminismViolationError,
        `${fixture.workflowId}: expected a DeterminismViolationError from the mutant, got ${result?.error}`,
      );
      assert.match(result.error.message, /TMPRL1100/, fixture.workflowId);
    }
    console.log(
      `mutant without the patched() guards: ${before.length} histories fail to replay (${before.map((f) => f.workflowId).join(', ')})`,
    );
  });

  it('does catch a change in the order of the workflow steps', async () => {
    // The same check as running reordered code against the recorded history: swap two scheduled filter steps.
    const original = fixtures.find((f) => f.workflowId.startsWith('success-'));
    assert.ok(original, 'a success-* fixture');
    const tampered = historyFromJson(
      JSON.parse(readFileSync(path.join(FIXTURES, `${original.workflowId}.json`), 'utf8')),
    );
    const scheduled = (tampered.events ?? []).filter((e) => e.activityTaskScheduledEventAttributes);
    const [first, second] = [scheduled[1], scheduled[2]].map(
      (e) => e.activityTaskScheduledEventAttributes!.activityType!,
    );
    assert.deepEqual([first.name, second.name], ['resize', 'sepia']);
    [first.name, second.name] = [second.name, first.name];

    const [result] = await replay([{ workflowId: original.workflowId, history: tampered }]);
    assert.ok(
      result.error instanceof DeterminismViolationError,
      `expected a DeterminismViolationError, got ${result.error}`,
    );
    assert.match(result.error.message, /resize|sepia/);
  });
});
