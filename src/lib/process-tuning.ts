import { execFile, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync, stat as statFile } from 'node:fs';
import os from 'node:os';
import type { ServiceName } from '../common/task-queues';

/** The services that decode and encode images. */
export const IMAGE_SERVICES: readonly ServiceName[] = ['upload', 'filter'];

/**
 * How image work yields the cores to orchestration (NANO_PHOTOS_IMAGE_PRIORITY): `idle`, Linux's SCHED_IDLE (it
 * runs only when nothing else wants the core, and a waking server or workflow thread takes the core at once);
 * `nice`, nice 10 (a tenth of the share, and the waking thread may wait for the running one's time slice); `normal`,
 * untouched.
 */
export const IMAGE_PRIORITIES = ['idle', 'nice', 'normal'] as const;
export type ImagePriority = (typeof IMAGE_PRIORITIES)[number];

/** NANO_PHOTOS_IMAGE_PRIORITY's value: `idle` when unset or empty. */
export function parseImagePriority(raw: string | undefined): ImagePriority {
  if (raw === undefined || raw === '') return 'idle';
  if (!IMAGE_PRIORITIES.includes(raw as ImagePriority)) {
    throw new Error(
      `NANO_PHOTOS_IMAGE_PRIORITY: expected one of ${IMAGE_PRIORITIES.join(', ')}, received ${JSON.stringify(raw)}`,
    );
  }
  return raw as ImagePriority;
}

/**
 * The threads that do image work in a process that also runs workflows: libvips' own, and libuv's pool, which runs
 * sharp's pipelines (and the file I/O). Node names the pool's threads from version 22 on; under Node 20 they are
 * called "node", like V8's helpers, which the main thread waits for during a garbage collection and which must
 * therefore stay as they are: there the pool is known by the census below.
 */
const IMAGE_THREADS = ['libvips worker', 'libuv-worker'];

/**
 * libuv's pool, found by starting it: the pool starts all its threads at its first request, so the threads that
 * appear during one are the pool. This module makes that request as it loads, and the entry points that tune a
 * process import it before anything else (sharp's loading already uses the pool). Empty where the pool had started
 * before (under tsx, whose loader uses it before any project module loads: there, under Node 20, the pool stays at
 * normal priority).
 */
export const POOL_THREADS: ReadonlySet<string> = startPool();

function startPool(): ReadonlySet<string> {
  if (process.platform !== 'linux') return new Set();
  const threads = () => readdirSync('/proc/self/task');
  const before = new Set(threads());
  statFile('/', () => undefined);
  return new Set(threads().filter((tid) => !before.has(tid)));
}

/** Linux's number for SCHED_IDLE, as /proc reports a thread's policy. */
const SCHED_IDLE = 5;
const NICE = 10;

/**
 * Process-wide settings for a long-running worker of `services` (the benchmark's monolith applies the same, with none
 * named: an image-only process). Measured with `npm run bench` on 2 cores; see BENCHMARKS.md. The memory allocator
 * must be chosen before the process starts, so src/bin/run-node.sh (behind `npm run worker`) sets it up: glibc with
 * fewer arenas and images in mappings of their own, or jemalloc (NANO_PHOTOS_ALLOCATOR). UV_THREADPOOL_SIZE stays at
 * libuv's 4 (tsx creates the pool before this module runs, so only the environment could change it, and 8 measured
 * no better on 2 cores).
 */
export function tuneProcess(priority: ImagePriority, services: readonly ServiceName[] = []): void {
  // The workflow worker and the Temporal server are the orchestration: when all cores are busy, every
  // activity-to-activity hop waits for them. Image work yields to them: the whole process when it runs no
  // workflows, else just its image threads. Throughput stays the same (the cores stay busy); the median hop at 8
  // photos in flight fell from about 150 ms to about 50 ms with nice 10, and by a further quarter with SCHED_IDLE.
  // A process without image services (share, workflow) has nothing to yield: the share service's short I/O-bound
  // steps would only wait behind other processes' image work.
  const images = services.length === 0 || services.some((s) => IMAGE_SERVICES.includes(s));
  if (priority === 'normal' || !images) return;
  const image = (name: string, tid: string) => IMAGE_THREADS.includes(name) || POOL_THREADS.has(tid);
  lowerPriority(services.includes('workflow') ? image : () => true, priority);
}

/**
 * Lowers the priority of this process's threads that `pick` selects by name, now and every quarter of a second for
 * new ones (a thread also inherits its creator's policy and nice). Linux only: threads are found in /proc. Node has
 * no call for a thread's scheduling policy, so SCHED_IDLE is set with util-linux's `chrt`; where that fails, nice 10.
 */
function lowerPriority(
  pick: (threadName: string, tid: string) => boolean,
  priority: Exclude<ImagePriority, 'normal'>,
): void {
  if (process.platform !== 'linux') return;
  let idle = priority === 'idle';
  let checked = new Set<string>();
  const renice = (tid: string) => {
    try {
      os.setPriority(Number(tid), NICE);
    } catch {
      // the thread has ended
    }
  };
  const toIdle = (tid: string) =>
    execFile('chrt', ['--idle', '--pid', '0', tid], (err, _stdout, stderr) => {
      if (!err || !existsSync(`/proc/self/task/${tid}`)) return; // done, or the thread has ended
      if (idle) warnNoIdle(String(stderr).trim() || err.message);
      idle = false;
      renice(tid);
    });
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
        if (!pick(readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim(), tid)) continue;
        if (!idle) renice(tid);
        else if (policyOf(tid) !== SCHED_IDLE) toIdle(tid);
      } catch {
        // the thread has ended
      }
    }
    checked = new Set(tids);
  };
  scan();
  setInterval(scan, 250).unref();
}

/**
 * Lowers the calling thread at once: a worker thread that runs only image services (src/lib/image-thread.ts), before
 * it starts anything, so that the threads it starts (the SDK core's) inherit the priority, as in an image-only
 * process.
 */
export function tuneThisThread(priority: ImagePriority): void {
  if (priority === 'normal' || process.platform !== 'linux') return;
  const tid = readlinkSync('/proc/thread-self').split('/').pop()!;
  if (priority === 'idle') {
    const chrt = spawnSync('chrt', ['--idle', '--pid', '0', tid], { encoding: 'utf8' });
    if (chrt.status === 0) return;
    warnNoIdle(chrt.stderr?.trim() || chrt.error?.message || `exit ${chrt.status}`);
  }
  os.setPriority(Number(tid), NICE);
}

function warnNoIdle(why: string): void {
  console.warn(`process ${process.pid}: chrt --idle failed (${why}); using nice ${NICE}`);
}

/** A thread's scheduling policy (field 41 of its stat; the fields count from after the command's closing paren). */
function policyOf(tid: string): number {
  const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[38]);
}
