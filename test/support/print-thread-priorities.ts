// First, as in src/bin/worker.ts: it takes a census of libuv's pool as it starts it.
import { parseImagePriority, POOL_THREADS, tuneProcess } from '../../src/lib/process-tuning';
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import sharp from 'sharp';
import type { ServiceName } from '../../src/common/task-queues';

// Run by test/process-priority.test.ts, as compiled JavaScript (tsx would start libuv's pool before this file
// loads): tunes this process as `npm run worker -- --services <argv[2]>` would, makes libvips start its threads,
// and prints each thread's name, scheduling policy and nice as the kernel shows them, and whether the census counted
// it in libuv's pool.
async function main(): Promise<void> {
  tuneProcess(parseImagePriority(process.env.NANO_PHOTOS_IMAGE_PRIORITY), process.argv[2].split(',') as ServiceName[]);
  await sharp({ create: { width: 1500, height: 1500, channels: 3, background: '#808080' } })
    .blur(4)
    .raw()
    .toBuffer();
  await sleep(1000); // past the tuning's next scan (every 250 ms) and its chrt calls
  const threads = readdirSync('/proc/self/task').flatMap((tid) => {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // from field 3, after the command's name
      const name = readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim();
      const main = Number(tid) === process.pid;
      return [{ name, main, pool: POOL_THREADS.has(tid), nice: Number(fields[16]), policy: Number(fields[38]) }];
    } catch {
      return []; // the thread has ended
    }
  });
  console.log(JSON.stringify(threads));
}

void main();
