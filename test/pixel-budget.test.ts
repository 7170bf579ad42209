import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, it } from 'node:test';
import { PixelBudget } from '../activities/shared/pixel-budget';

/** A job that runs until released, recording when it started. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}
const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('the pixel budget of a filter worker', () => {
  it('starts jobs in the order they asked, as soon as their pixels fit', async () => {
    const budget = new PixelBudget(100);
    const started: string[] = [];
    const gates = new Map<string, ReturnType<typeof gate>>();
    const job = (name: string, pixels: number) => {
      gates.set(name, gate());
      return budget.run(pixels, async () => {
        started.push(name);
        await gates.get(name)!.opened;
      });
    };
    const all = [job('a', 60), job('b', 50), job('c', 10), job('d', 30)];
    await tick();
    // c would fit next to a, but b asked first: no overtaking, so a large job is never starved by small ones.
    assert.deepEqual(started, ['a']);
    gates.get('a')!.open();
    await tick();
    assert.deepEqual(started, ['a', 'b', 'c', 'd']);
    for (const g of gates.values()) g.open();
    await Promise.all(all);
    assert.equal(budget.peak, 90);
  });

  it('runs a job larger than the whole budget alone, rather than never', async () => {
    const budget = new PixelBudget(100);
    const started: string[] = [];
    const first = gate();
    const small = budget.run(10, async () => {
      started.push('small');
      await first.opened;
    });
    const huge = budget.run(500, async () => void started.push('huge'));
    const after = budget.run(10, async () => void started.push('after'));
    await tick();
    assert.deepEqual(started, ['small']);
    first.open();
    await Promise.all([small, huge, after]);
    assert.deepEqual(started, ['small', 'huge', 'after']);
    assert.equal(budget.peak, 500);
  });

  it('a cancelled job leaves the queue, and gives back nothing it did not take', async () => {
    const budget = new PixelBudget(100);
    const holder = gate();
    const held = budget.run(80, () => holder.opened);
    const cancel = new AbortController();
    const waiting = budget.run(50, async () => assert.fail('a cancelled job must not run'), cancel.signal);
    const next = budget.run(20, async () => 'ran');
    cancel.abort(new Error('cancelled'));
    await assert.rejects(waiting, /cancelled/);
    // With the cancelled job gone, the small one behind it fits next to the holder at once.
    assert.equal(await next, 'ran');
    holder.open();
    await held;
    assert.equal(budget.peak, 100);
  });

  it('eight huge jobs at once stay under the budget, measured: pixels in flight and peak resident memory', async () => {
    // Eight sepia activities on a 6000 x 6000 image (36 MP in, 36 MP out: 72 MP each) in a fresh process, with a
    // budget of 150 MP (two at a time), and for contrast with no effective budget.
    const run = async (budget: number) => {
      const { stdout } = await promisify(execFile)(
        process.execPath,
        ['--import', 'tsx', 'test/support/filter-load.ts', String(budget), '8', '6000'],
        { env: { ...process.env, MALLOC_ARENA_MAX: '2' } },
      );
      return JSON.parse(stdout) as { peakPixels: number; hwmBefore: number; hwmAfter: number; seconds: number };
    };
    const budget = 150_000_000;
    const bounded = await run(budget);
    const unbounded = await run(Number.MAX_SAFE_INTEGER);
    const mb = (bytes: number) => `${Math.round(bytes / 2 ** 20)} MB`;
    console.log(
      `8 x 72 MP sepia: budget 150 MP → peak ${bounded.peakPixels / 1e6} MP, RSS ${mb(bounded.hwmAfter)} ` +
        `(${bounded.seconds.toFixed(1)} s); unbounded → ${unbounded.peakPixels / 1e6} MP, RSS ` +
        `${mb(unbounded.hwmAfter)} (${unbounded.seconds.toFixed(1)} s)`,
    );
    assert.equal(unbounded.peakPixels, 8 * 72_000_000, 'all eight jobs were in flight at once without a budget');
    assert.ok(bounded.peakPixels <= budget, `peak ${bounded.peakPixels} pixels in flight`);
    assert.equal(bounded.peakPixels, 2 * 72_000_000, 'two jobs still ran side by side');
    // The documented ceiling: at most 4 bytes (raw RGBA) per budgeted pixel above the idle process.
    const ceiling = bounded.hwmBefore + 4 * budget;
    assert.ok(bounded.hwmAfter <= ceiling, `peak RSS ${mb(bounded.hwmAfter)}, ceiling ${mb(ceiling)}`);
    assert.ok(unbounded.hwmAfter > ceiling, `without the budget the same work took ${mb(unbounded.hwmAfter)}`);
  });
});
