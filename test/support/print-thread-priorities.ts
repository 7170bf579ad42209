// First, as in src/bin/worker.ts: it takes a census of libuv's pool as it starts it.
import {
  parseImagePriority,
  POOL_THREADS,
  tuneProcess,
  tuneThisThread,
  type ImagePriority,
} from '../../src/lib/process-tuning';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { isMainThread, parentPort, Worker as Thread } from 'node:worker_threads';
import sharp from 'sharp';
import type { ServiceName } from '../../src/common/task-queues';

// Run by test/process-priority.test.ts, as compiled JavaScript (tsx would start libuv's pool before this file
// loads): tunes this process as `npm run worker -- --services <argv[2]>` would, makes libvips start its threads,
// and prints each thread's name, scheduling policy and nice as the kernel shows them, whether the census counted it
// in libuv's pool, and whether it is the image thread (argv[3] `image-thread`: one tuned as src/lib/image-thread.ts
// tunes its thread).
async function main(priority: ImagePriority): Promise<void> {
  tuneProcess(priority, process.argv[2].split(',') as ServiceName[]);
  const imageThread = process.argv[3] === 'image-thread' ? await startImageThread() : undefined;
  await sharp({ create: { width: 1500, height: 1500, channels: 3, background: '#808080' } })
    .blur(4)
    .raw()
    .toBuffer();
  await sleep(1000); // past the tuning's next scan (every 250 ms) and its chrt calls
  const threads = readdirSync('/proc/self/task').flatMap((tid) => {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // from field 3, after the command's name
      return [
        {
          name: readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim(),
          main: Number(tid) === process.pid,
          pool: POOL_THREADS.has(tid),
          image: tid === imageThread?.tid,
          nice: Number(fields[16]),
          policy: Number(fields[38]),
        },
      ];
    } catch {
      return []; // the thread has ended
    }
  });
  console.log(JSON.stringify(threads));
  await imageThread?.thread.terminate();
}

/** A thread that tunes itself as an image thread does, and stays until terminated; with its thread id. */
async function startImageThread(): Promise<{ thread: Thread; tid: string }> {
  const thread = new Thread(__filename);
  const tid = await new Promise<string>((resolve, reject) => {
    thread.once('message', resolve);
    thread.once('error', reject);
  });
  return { thread, tid };
}

const priority = parseImagePriority(process.env.NANO_PHOTOS_IMAGE_PRIORITY);
if (isMainThread) void main(priority);
else {
  tuneThisThread(priority);
  parentPort!.postMessage(readlinkSync('/proc/thread-self').split('/').pop());
  setInterval(() => undefined, 60_000); // alive until terminated
}
