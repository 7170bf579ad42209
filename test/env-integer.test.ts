import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { envInteger } from '../src/lib/env-integer';

/** Integer settings from the environment (src/lib/env-integer.ts), as the workers and the benchmark read them. */
describe('envInteger', () => {
  it('gives the fallback when the setting is unset or empty, and the value when it is in range', () => {
    assert.equal(envInteger({}, 'N', 7), 7);
    assert.equal(envInteger({ N: '' }, 'N', 7), 7);
    assert.equal(envInteger({ N: '0' }, 'N', 7, 0), 0);
    assert.equal(envInteger({ N: '30' }, 'N', 7, 1, 30), 30);
  });

  it('refuses anything else, naming the setting, the range and the value received', () => {
    assert.throws(() => envInteger({ N: '0' }, 'N', 7), /^Error: N: expected an integer of at least 1, received "0"$/);
    assert.throws(
      () => envInteger({ N: '31' }, 'N', 7, 1, 30),
      /^Error: N: expected an integer between 1 and 30, received "31"$/,
    );
    for (const raw of ['1.5', 'ten', ' ', '1e400']) {
      assert.throws(() => envInteger({ N: raw }, 'N', 7, 0), {
        message: `N: expected an integer of at least 0, received ${JSON.stringify(raw)}`,
      });
    }
  });
});
