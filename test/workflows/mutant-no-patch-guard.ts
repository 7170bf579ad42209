/**
 * A mutant for test/replay.test.ts: the workflow SDK as processPhoto sees it, except that patched() is always true
 * and records nothing. Bundled in place of @temporalio/workflow, it turns processPhoto's
 * `if (patched('memo-records-output')) upsertMemo(...)` into an unconditional `upsertMemo(...)` (and so for every
 * patch): the edit of someone who adds a step and forgets that runs started before it are still open. Replaying
 * the histories of those runs must fail. (The real workflow code is bundled, so the mutant is always today's processPhoto minus its guard.)
 */
export * from '@temporalio/workflow/lib/index';

export function patched(): boolean {
  return true;
}
