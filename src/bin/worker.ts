// First: it takes a census of libuv's pool as it starts it (src/lib/process-tuning.ts).
import { tuneProcess, tuneThisThread } from '../lib/process-tuning';
import { parseArgs } from 'node:util';
import { Client } from '@temporalio/client';
import { NativeConnection, Runtime } from '@temporalio/worker';
import { SWEEP_EVERY, SWEEP_SCHEDULE_ID } from '../common/retention';
import { SERVICE_NAMES } from '../common/task-queues';
import { loadConfig, type PhotoConfig } from '../lib/config';
import { installQuietRuntime } from '../lib/logging';
import { dataConverterFor } from '../lib/payload-codec';
import { ensureSweepSchedule } from '../lib/store-sweep';
import { inImageThread, placeServices, reportReady, startImageThread, type ImageThread } from '../lib/image-thread';
import { createWorkers, DEFAULT_CONCURRENCY, parseServices } from '../lib/workers';

const HELP = `Usage: npm run worker -- [--services ${SERVICE_NAMES.join(',')}] [--concurrency N]

Runs a worker process for the chosen nano-service groups, each polling its own task queue. Start as many
processes as you like, for the same or different services: they share the queues. A process that runs workflows
and image services runs upload and filter in a thread of their own (not with NANO_PHOTOS_IMAGE_THREAD=false or
NANO_PHOTOS_METRICS_ADDRESS, nor under Node 20 without \`npm run build\`). A filter worker also polls a queue of its
own, photos-filter-held-<host>-<pid>-<id>: the steps of runs with intermediates: "memory" whose input it holds.

Options:
  --services LIST    comma-separated, from: ${SERVICE_NAMES.join(', ')} (default: all)
  --concurrency N    activities (or workflow tasks) at once per service (defaults: ${SERVICE_NAMES.map((s) => `${s} ${DEFAULT_CONCURRENCY[s]}`).join(', ')})
  -h, --help         this text

Environment: TEMPORAL_ADDRESS (default 127.0.0.1:7233), TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS_*,
TEMPORAL_PROFILE; NANO_PHOTOS_DATA_DIR (blob store, gallery and inbox, default .data/), NANO_PHOTOS_BLOB_DIR,
NANO_PHOTOS_GALLERY_DIR; or shared storage for several hosts: NANO_PHOTOS_BLOB_URL (file:///folder or
s3://bucket/prefix), NANO_PHOTOS_GALLERY_URL (default with s3: the same bucket under gallery/),
NANO_PHOTOS_S3_ENDPOINT (non-AWS services; \`npm run s3\` prints these), NANO_PHOTOS_S3_FORCE_PATH_STYLE, and the
AWS SDK's AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION (or AWS_PROFILE); NANO_PHOTOS_UPLOAD_ROOTS (the
only folders {"path": ...} uploads are read from, ':'-separated, empty for none; default the inbox <data dir>/inbox,
created at start); NANO_PHOTOS_URL_ALLOW (comma-separated networks URL uploads may reach besides the public
internet, e.g. 10.1.0.0/16; default none); NANO_PHOTOS_WEBHOOK_URL and NANO_PHOTOS_WEBHOOK_SECRET, NANO_PHOTOS_BLUESKY_SERVICE,
NANO_PHOTOS_BLUESKY_HANDLE and NANO_PHOTOS_BLUESKY_APP_PASSWORD (share target secrets live here, never in
workflow input); NANO_PHOTOS_FILTER_PIXEL_BUDGET (pixels, input plus output, the filter worker holds at once;
default 200000000, about 4 bytes each at most); NANO_PHOTOS_UPLOAD_PIXEL_BUDGET (pixels the upload worker
decodes at once; default 200000000); NANO_PHOTOS_CODEC_KEYS (encrypt payloads: <key id>:<base64 32
bytes>,... the first one encrypts; the same on every worker and client; default off); NANO_PHOTOS_FILTER_DELAY_MS
(slow every filter down, for crash demos), NANO_PHOTOS_METRICS_ADDRESS (host:port of a Prometheus endpoint for
this worker; off by default); NANO_PHOTOS_RETENTION (how long originals and outputs are kept after their last
use, at least 31 days; default 35 days; a worker with the workflow service creates or updates the Schedule
${SWEEP_SCHEDULE_ID} that sweeps the store every ${SWEEP_EVERY}); NANO_PHOTOS_ALLOCATOR (read by \`npm run
worker\` before Node starts: glibc, the default, or jemalloc, for a little less memory and a little more CPU);
NANO_PHOTOS_IMAGE_PRIORITY (how image work yields the cores to the Temporal server and workflow worker: idle,
the default, runs it only when nothing else wants a core (Linux SCHED_IDLE); nice, nice 10; normal).
SIGINT/SIGTERM: stop polling, let running activities finish (30 s grace), exit 0.`;

/** The store's sweep, scheduled by the workers that run workflows; a server that refuses only costs a warning. */
async function scheduleSweep(connection: NativeConnection, config: PhotoConfig): Promise<void> {
  const client = new Client({
    connection,
    namespace: config.connection.namespace,
    dataConverter: dataConverterFor(config.codecKeys),
  });
  const days = config.retentionMs / 86_400_000;
  try {
    const outcome = await ensureSweepSchedule(client, config.retentionMs);
    console.log(
      `worker ${process.pid}: store sweep ${SWEEP_SCHEDULE_ID} ${outcome} (every ${SWEEP_EVERY}, retention ${days} days)`,
    );
  } catch (err) {
    console.warn(
      `worker ${process.pid}: could not schedule the store sweep ${SWEEP_SCHEDULE_ID}: ${(err as Error).message}`,
    );
  }
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
  const config = loadConfig();
  const { here, thread } = placeServices(services, config, __filename);
  // Before the SDK's runtime starts its threads: they inherit an image thread's priority.
  if (inImageThread) tuneThisThread(config.imagePriority);
  else tuneProcess(config.imagePriority, services);
  installQuietRuntime(config.metricsAddress);
  const settings = config.connection;
  const connection = await NativeConnection.connect({ address: settings.address, ...settings.options });
  const workers = await createWorkers({
    connection,
    namespace: settings.namespace,
    services: here,
    config,
    concurrency: concurrency === undefined ? undefined : Object.fromEntries(here.map((s) => [s, concurrency])),
  });
  const stopAll = () => workers.forEach((worker) => worker.shutdown());
  let images: ImageThread | undefined;
  if (inImageThread) reportReady(stopAll);
  else if (thread.length > 0) {
    const args = ['--services', thread.join(','), ...(values.concurrency ? ['--concurrency', values.concurrency] : [])];
    images = startImageThread(__filename, args);
    await images.ready;
    // The SDK's runtime stops this thread's workers on these signals; the image thread's stop with them.
    for (const signal of Runtime.instance().options.shutdownSignals) process.once(signal, () => images?.stop());
  }
  if (!inImageThread) {
    const where = thread.length > 0 ? ` (${thread.join(', ')} in a thread of their own)` : '';
    console.log(
      `worker ${process.pid}: serving ${services.join(', ')}${where} on ${settings.address} (namespace ${settings.namespace})`,
    );
  }
  if (services.includes('workflow')) await scheduleSweep(connection, config);
  try {
    await Promise.all([...workers.map((worker) => worker.run()), images?.done]);
  } finally {
    await connection.close();
  }
  if (inImageThread) return;
  console.log(`worker ${process.pid}: stopped`);
}

// An image thread runs this file too (src/lib/image-thread.ts).
if (require.main === module || inImageThread) {
  main().catch((err) => {
    console.error(`worker: ${(err as Error).message}`);
    process.exit(1);
  });
}
