import { isMainThread, parentPort, Worker as Thread, workerData } from 'node:worker_threads';
import type { ServiceName } from '../common/task-queues';
import type { PhotoConfig } from './config';
import { IMAGE_SERVICES } from './process-tuning';

/**
 * A worker process that runs workflows keeps its image services (upload, filter) in a thread of their own, at the
 * image priority, as if they were a process of their own. Their JavaScript (hashing, image-sized buffers, and the
 * garbage collections those bring) and their SDK core's threads then never hold up the main thread, which relays
 * every workflow activation between the SDK core and the workflow thread: at 8 photos in flight, the hop between two
 * activities of one worker process for everything fell from 21-27 ms to 14-18 ms (BENCHMARKS.md, seventh pass). The
 * cost: one more JavaScript heap and SDK runtime, about 32 MB at rest (NANO_PHOTOS_IMAGE_THREAD=false saves it).
 */

/** What the main thread sends an image thread, and what the thread answers once its workers poll. */
const SHUTDOWN = 'shutdown';
const READY = 'ready';

/** Whether this thread is an image thread (started by startImageThread). */
export const inImageThread: boolean =
  !isMainThread && (workerData as { imageThread?: unknown } | null)?.imageThread === true;

/**
 * Which of `services` this thread runs (`here`) and which an image thread does (`thread`, empty for none): the
 * image services get one when workflows run in the same process, unless the configuration says not to
 * (NANO_PHOTOS_IMAGE_THREAD=false). Not with a metrics endpoint: it belongs to the SDK runtime, one per thread, and
 * two cannot serve one address. Not for an entry point in TypeScript under Node 20 either: tsx's hooks do not reach
 * worker threads there (they do from Node 22 on; compiled, `npm run build`, there is nothing to hook).
 */
export function placeServices(
  services: readonly ServiceName[],
  config: Pick<PhotoConfig, 'metricsAddress' | 'imageThread'>,
  entry: string,
): { here: ServiceName[]; thread: ServiceName[] } {
  const images = services.filter((s) => IMAGE_SERVICES.includes(s));
  const loadable = !entry.endsWith('.ts') || Number(process.versions.node.split('.')[0]) >= 22;
  const split =
    config.imageThread &&
    !inImageThread &&
    services.includes('workflow') &&
    images.length > 0 &&
    !config.metricsAddress &&
    loadable;
  return split
    ? { here: services.filter((s) => !images.includes(s)), thread: images }
    : { here: [...services], thread: [] };
}

export interface ImageThread {
  /** Settles once the thread's workers poll; rejects if the thread failed or ended before. */
  ready: Promise<void>;
  /** Settles when the thread has ended: resolves after a shutdown, rejects if it failed. */
  done: Promise<void>;
  /** Asks the thread's workers to stop: running activities finish first, as in the main thread. */
  stop(): void;
}

/** Runs `entry`, the worker's own entry point, in an image thread with the command-line `args`. */
export function startImageThread(entry: string, args: string[]): ImageThread {
  const thread = new Thread(entry, { argv: args, workerData: { imageThread: true } });
  let stopping = false;
  const done = new Promise<void>((resolve, reject) => {
    thread.once('error', reject);
    thread.once('exit', (code) => {
      if (code === 0 && stopping) resolve();
      else reject(new Error(`the image thread (${args.join(' ')}) ended with exit code ${code}`));
    });
  });
  const polling = new Promise<void>((resolve) => thread.once('message', (message) => message === READY && resolve()));
  return {
    ready: Promise.race([polling, done]),
    done,
    stop: () => {
      stopping = true;
      thread.postMessage(SHUTDOWN);
    },
  };
}

/** In an image thread: tells the main thread that its workers poll, and runs `shutdown` when asked to stop. */
export function reportReady(shutdown: () => void): void {
  parentPort?.on('message', (message) => message === SHUTDOWN && shutdown());
  parentPort?.postMessage(READY);
  // The thread's workers keep it alive while they run; listening must not keep it after they stopped.
  parentPort?.unref();
}
