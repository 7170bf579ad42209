import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';

/** The ceiling's no-op worker (src/bench/noop-worker.ts): its settings are checked before it connects. */
describe('the no-op worker', () => {
  const settings = [
    { name: 'NOOP_DELAY_MS', range: 'of at least 0', values: ['-5', '1.5', 'soon'] },
    { name: 'NOOP_CONCURRENCY', range: 'of at least 1', values: ['0', '2.5', 'many'] },
  ];
  for (const { name, range, values } of settings) {
    it(`refuses a ${name} that is not an integer ${range}, naming the value`, () => {
      for (const value of values) {
        const run = spawnSync(process.execPath, ['--import', 'tsx', 'src/bench/noop-worker.ts', 'activities'], {
          // An address nothing listens on: the worker must fail on the setting, not on the connection.
          env: { ...process.env, [name]: value, TEMPORAL_ADDRESS: '127.0.0.1:1' },
          encoding: 'utf8',
          timeout: 60_000,
        });
        assert.equal(run.status, 1, run.stderr);
        assert.match(run.stderr, new RegExp(`${name}: expected an integer ${range}, received "${value}"`));
      }
    });
  }
});
