import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { processMemory, processPages, sharedCountedAgain, UsageSampler } from '../src/bench/procfs';

const MB = 1024 * 1024;

/** A Node process that holds `mb` of its own memory (touched, so resident) until it is stopped. */
async function holding(mb: number): Promise<ChildProcess> {
  const code = `globalThis.held = Buffer.alloc(${mb} * 1024 * 1024, 1); console.log('ready'); setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  await once(child.stdout!, 'data');
  return child;
}

/** The benchmark's memory figures (src/bench/procfs.ts), read from /proc for real processes. */
describe(
  'worker memory: RSS, and shared pages counted once',
  { skip: process.platform !== 'linux' && 'reads /proc' },
  () => {
    let big: ChildProcess;
    let small: ChildProcess;
    let other: ChildProcess;

    before(async () => {
      [big, small, other] = await Promise.all([holding(64), holding(8), holding(32)]);
    });
    after(() => {
      for (const child of [big, small, other]) child?.kill();
    });

    it("splits a process's resident pages into its own and those it shares, which add up to its RSS", () => {
      const { private: own, shared } = processPages(big.pid!);
      assert.ok(own >= 64 * MB, `private ${own / MB} MB holds the 64 MB buffer`);
      assert.ok(shared > 5 * MB, `shared ${shared / MB} MB: the Node binary, which three processes map`);
      const rss = processMemory(big.pid!).rss;
      assert.ok(Math.abs(own + shared - rss) < MB, `${(own + shared) / MB} MB ~ RSS ${rss / MB} MB`);
      assert.ok(Number.isNaN(processPages(2 ** 22 + 1).private), 'no process: NaN, not 0');
    });

    it("takes the workers' memory together at their RSS sum's peak, counting the pages they share once", () => {
      const usage = new UsageSampler([
        { label: 'worker:big', pid: big.pid!, worker: true },
        { label: 'worker:small', pid: small.pid!, worker: true },
        { label: 'not a worker', pid: other.pid!, worker: false },
      ])
        .start()
        .stop();
      const [bigRss, smallRss] = [big, small].map((child) => processMemory(child.pid!).rss);
      assert.ok(Math.abs(usage.peakWorkerRss - bigRss - smallRss) < 4 * MB, `RSS sum ${usage.peakWorkerRss / MB} MB`);
      const together = usage.workersTogetherAtPeak;
      // At least all of the larger process, and both buffers; less than the RSS sum by the Node binary's pages.
      assert.ok(together >= bigRss - MB && together >= 72 * MB, `together ${together / MB} MB`);
      assert.ok(
        together < usage.peakWorkerRss - 5 * MB,
        `together ${together / MB} MB, RSS ${usage.peakWorkerRss / MB}`,
      );
      assert.equal(sharedCountedAgain([big.pid!]), 0, 'one process counts nothing twice');
    });
  },
);
