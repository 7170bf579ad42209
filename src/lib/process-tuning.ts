import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import type { ServiceName } from '../common/task-queues';

/** The services that decode and encode images. */
const IMAGE_SERVICES: readonly ServiceName[] = ['upload', 'filter'];

/**
 * Process-wide settings for a long-running worker of `services` (the benchmark's monolith applies the same, with none
 * named: an image-only process). Measured with `npm run bench` on 2 cores; see BENCHMARKS.md. The memory allocator
 * must be chosen before the process starts, so src/bin/run-node.sh (behind `npm run worker`) sets it up: glibc with
 * fewer arenas and images in mappings of their own, or jemalloc (NANO_PHOTOS_ALLOCATOR). UV_THREADPOOL_SIZE stays at
 * libuv's 4 (tsx creates the pool before this module runs, so only the environment could change it, and 8 measured
 * no better on 2 cores).
 */
export async function tuneProcess(services: readonly ServiceName[] = []): Promise<void> {
  // libvips' operation cache only helps when the same operations repeat on the same images; a service sees each
  // image once, so the cache is memory held for nothing (sharp's advice for long-running services). Processes
  // without image services never load sharp (src/lib/workers.ts).
  const images = services.length === 0 || services.some((s) => IMAGE_SERVICES.includes(s));
  if (images) (await import('sharp')).default.cache(false);
  // The workflow worker is the orchestrator: when all cores are busy, every activity-to-activity hop waits for it.
  // Image work runs at a lower CPU priority (nice 10) so it takes only what orchestration leaves: the whole
  // process when it runs no workflows, else just libvips' threads. Throughput stays the same (the cores stay
  // busy); the median hop at 8 photos in flight fell from about 150 ms to about 50 ms (filter concurrency 4).
  lowerPriority(services.includes('workflow') ? (name) => name === 'libvips worker' : () => true);
}

/**
 * Sets nice 10 on this process's threads that `pick` selects by name, now and every quarter of a second for new
 * ones (a thread also inherits its creator's priority). Linux only: threads are found in /proc.
 */
function lowerPriority(pick: (threadName: string) => boolean, nice = 10): void {
  if (process.platform !== 'linux') return;
  let checked = new Set<string>();
  const scan = () => {
    let tids: string[];
    try {
      tids = readdirSync('/proc/self/task');
    } catch {
      return;
    }
    for (const tid of tids) {
      if (checked.has(tid)) continue;
      try {
        if (pick(readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim())) os.setPriority(Number(tid), nice);
      } catch {
        // the thread has ended
      }
    }
    checked = new Set(tids);
  };
  scan();
  setInterval(scan, 250).unref();
}
