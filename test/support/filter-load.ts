import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { createFilterActivities } from '../../activities/filters/activities';
import { PixelBudget } from '../../activities/shared/pixel-budget';
import type { ImageRef } from '../../src/common/types';
import { FileBlobStore } from '../../src/lib/blob-store';

/**
 * A filter worker's activities under load, in a process of its own so that its peak memory is its own:
 * `node --import tsx test/support/filter-load.ts <budget> <jobs> <side>` stores one side x side RGB image, starts
 * `jobs` sepia activities on it at once, and prints JSON: the budget's peak pixels, and the process's resident-memory
 * high-water mark (VmHWM) before and after the jobs.
 */

function vmHwmBytes(): number {
  const line = readFileSync('/proc/self/status', 'utf8').match(/^VmHWM:\s+(\d+) kB/m);
  return Number(line![1]) * 1024;
}

async function main(): Promise<void> {
  const [budgetArg, jobsArg, sideArg] = process.argv.slice(2);
  const [limit, jobs, side] = [Number(budgetArg), Number(jobsArg), Number(sideArg)];
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nano-photos-load-'));
  try {
    const store = new FileBlobStore(dir);
    const blob = await store.put(Buffer.alloc(side * side * 3, 90), 'raw');
    const image: ImageRef = { ...blob, format: 'raw', width: side, height: side, channels: 3 };
    const budget = new PixelBudget(limit);
    const { sepia } = createFilterActivities({ store, budget });
    global.gc?.();
    const before = vmHwmBytes();
    const started = performance.now();
    const logger = new DefaultLogger('ERROR');
    await Promise.all(
      Array.from({ length: jobs }, () => new MockActivityEnvironment(undefined, { logger }).run(sepia, { image })),
    );
    const seconds = (performance.now() - started) / 1000;
    console.log(JSON.stringify({ peakPixels: budget.peak, hwmBefore: before, hwmAfter: vmHwmBytes(), seconds }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
