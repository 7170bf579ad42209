import assert from 'node:assert/strict';
import { ApplicationFailure } from '@temporalio/common';

/** `caught` is a non-retryable InvalidInput ApplicationFailure whose message mentions every one of `parts`. */
export function assertIsInvalidInput(caught: unknown, parts: string[]): ApplicationFailure {
  assert.ok(caught instanceof ApplicationFailure, `expected an ApplicationFailure, got ${String(caught)}`);
  assert.equal(caught.nonRetryable, true, `non-retryable: ${caught.message}`);
  assert.equal(caught.type, 'InvalidInput');
  for (const part of parts) {
    assert.ok(
      caught.message.includes(part),
      `message ${JSON.stringify(caught.message)} should mention ${JSON.stringify(part)}`,
    );
  }
  return caught;
}
