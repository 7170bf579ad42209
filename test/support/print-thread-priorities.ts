import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import sharp from 'sharp';
import { loadConfig } from '../../src/lib/config';
import { tuneProcess } from '../../src/lib/process-tuning';
import { parseServices } from '../../src/lib/workers';

// Run by test/process-priority.test.ts: tunes this process as `npm run worker -- --services <argv[2]>` would, makes
// libvips start its threads, and prints each thread's name, scheduling policy and nice as the kernel shows them.
async function main(): Promise<void> {
  tuneProcess(loadConfig().imagePriority, parseServices(process.argv[2]));
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
      return [{ name, main: Number(tid) === process.pid, nice: Number(fields[16]), policy: Number(fields[38]) }];
    } catch {
      return []; // the thread has ended
    }
  });
  console.log(JSON.stringify(threads));
}

void main();
