import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { NativeConnection } from '@temporalio/worker';
import sharp from 'sharp';
import { SERVICE_NAMES, type ServiceName } from '../workflows/task-queues';
import { loadConfig } from './config';
import { loadConnectionSettings } from './connection';
import { installQuietRuntime } from './logging';
import { createWorkers, DEFAULT_CONCURRENCY } from './workers';

const HELP = `Usage: npm run worker -- [--services ${SERVICE_NAMES.join(',')}] [--concurrency N]

Runs a worker process for the chosen nano-service groups, each polling its own task queue. Start as many
processes as you like, for the same or different services: they share the queues.

Options:
  --services LIST    comma-separated, from: ${SERVICE_NAMES.join(', ')} (default: all)
  --concurrency N    activities (or workflow tasks) at once per service (defaults: ${SERVICE_NAMES.map((s) => `${s} ${DEFAULT_CONCURRENCY[s]}`).join(', ')})
  -h, --help         this text

Environment: TEMPORAL_ADDRESS (default 127.0.0.1:7233), TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS_*,
TEMPORAL_PROFILE; NANO_PHOTOS_DATA_DIR (blob store and gallery, default .data/), NANO_PHOTOS_BLOB_DIR,
NANO_PHOTOS_GALLERY_DIR, NANO_PHOTOS_UPLOAD_ROOTS, NANO_PHOTOS_WEBHOOK_URL and NANO_PHOTOS_WEBHOOK_SECRET (share
target secrets live here, never in workflow input), NANO_PHOTOS_FILTER_DELAY_MS (slow every filter down, for crash
demos). SIGINT/SIGTERM: stop polling, let running activities finish (30 s grace), exit 0.`;

/**
 * Process-wide settings for a long-running worker (the benchmark's monolith applies the same, as an image-only
 * process). Measured with `npm run bench` on 2 cores; see BENCHMARKS.md. Two more live in the environment, since
 * they must be set before the process starts: `npm run worker` sets MALLOC_ARENA_MAX=2 (glibc keeps fewer malloc
 * arenas for libvips' threads: about 10 % less worker RSS); UV_THREADPOOL_SIZE stays at libuv's 4 (tsx creates the
 * pool before this module runs, so only the environment could change it, and 8 measured no better on 2 cores).
 */
export function tuneProcess(services: readonly ServiceName[] = []): void {
  // libvips' operation cache only helps when the same operations repeat on the same images; a service sees each
  // image once, so the cache is memory held for nothing (sharp's advice for long-running services).
  sharp.cache(false);
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

export function parseServices(list: string | undefined): ServiceName[] {
  if (list === undefined || list === 'all') return [...SERVICE_NAMES];
  const services = list.split(',').map((s) => s.trim()).filter(Boolean);
  for (const service of services) {
    if (!SERVICE_NAMES.includes(service as ServiceName)) {
      throw new Error(`--services: unknown service "${service}"; expected a comma-separated list of ${SERVICE_NAMES.join(', ')}`);
    }
  }
  if (services.length === 0) throw new Error(`--services: expected at least one of ${SERVICE_NAMES.join(', ')}`);
  return [...new Set(services)] as ServiceName[];
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      services: { type: 'string' },
      concurrency: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(HELP);
    return;
  }
  const services = parseServices(values.services);
  const concurrency = values.concurrency === undefined ? undefined : Number(values.concurrency);
  if (concurrency !== undefined && (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 1000)) {
    throw new Error(`--concurrency: expected an integer between 1 and 1000, received ${values.concurrency}`);
  }
  installQuietRuntime();
  tuneProcess(services);
  const config = loadConfig();
  const settings = loadConnectionSettings();
  const connection = await NativeConnection.connect({ address: settings.address, ...settings.options });
  const workers = await createWorkers({
    connection,
    namespace: settings.namespace,
    services,
    config,
    concurrency: concurrency === undefined ? undefined : Object.fromEntries(services.map((s) => [s, concurrency])),
    filterDelayMs: Number(process.env.NANO_PHOTOS_FILTER_DELAY_MS ?? 0) || undefined,
  });
  console.log(`worker ${process.pid}: serving ${services.join(', ')} on ${settings.address} (namespace ${settings.namespace})`);
  try {
    await Promise.all(workers.map((worker) => worker.run()));
  } finally {
    await connection.close();
  }
  console.log(`worker ${process.pid}: stopped`);
}

if (require.main === module) {
  main().catch((err) => {
    console.error(`worker: ${(err as Error).message}`);
    process.exit(1);
  });
}
