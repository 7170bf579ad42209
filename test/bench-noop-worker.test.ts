import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';

/** The ceiling's no-op worker (src/bench/noop-worker.ts): its pace setting is checked before it connects. */
describe('the no-op worker', () => {
  it('refuses a NOOP_DELAY_MS that is not a whole number of milliseconds, naming the value', () => {
    for (const value of ['-5', '1.5', 'soon']) {
      const run = spawnSync(process.execPath, ['--import', 'tsx', 'src/bench/noop-worker.ts', 'activities'], {
        // An address nothing listens on: the worker must fail on the setting, not on the connection.
        env: { ...process.env, NOOP_DELAY_MS: value, TEMPORAL_ADDRESS: '127.0.0.1:1' },
        encoding: 'utf8',
        timeout: 60_000,
      });
      assert.equal(run.status, 1, run.stderr);
      assert.match(
        run.stderr,
        new RegExp(`expected NOOP_DELAY_MS to be a whole number of milliseconds >= 0, received ${value}`),
      );
    }
  });
});
