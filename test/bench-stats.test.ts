import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { median, percentile, turnOrder } from '../src/bench/stats';

/** The benchmark's small statistics: what its ratios and round order rest on. */

describe('turnOrder', () => {
  it('starts each round one mode further on, so every mode goes first in turn', () => {
    const modes = ['monolith', 'nano', 'held', 'fused'];
    assert.deepEqual(turnOrder(modes, 0), modes);
    assert.deepEqual(turnOrder(modes, 1), ['nano', 'held', 'fused', 'monolith']);
    assert.deepEqual(turnOrder(modes, 3), ['fused', 'monolith', 'nano', 'held']);
    assert.deepEqual(turnOrder(modes, 4), modes);
    assert.deepEqual(
      [0, 1, 2, 3].map((r) => turnOrder(modes, r)[0]),
      modes,
      'in as many rounds as modes, each mode goes first once',
    );
  });

  it('alternates two modes', () => {
    assert.deepEqual(
      [0, 1, 2].map((r) => turnOrder(['ceiling', 'plain'], r).join(' then ')),
      ['ceiling then plain', 'plain then ceiling', 'ceiling then plain'],
    );
  });

  it('leaves the modes it was given as they were', () => {
    const modes = ['a', 'b', 'c'];
    turnOrder(modes, 2);
    assert.deepEqual(modes, ['a', 'b', 'c']);
  });
});

describe('percentile', () => {
  it('interpolates between the closest ranks, whatever the samples order', () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.equal(percentile([10, 20, 30, 40, 50], 95), 48);
    assert.ok(Number.isNaN(median([])));
  });
});
