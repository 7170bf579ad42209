import path from 'node:path';
import { parseArgs } from 'node:util';
import { SERVICE_NAMES, type ServiceName } from '../common/task-queues';
import { projectRoot } from '../lib/project-root';
import { samplePhotoDir } from '../lib/sample-photos';
import { parseCpuPins, type CpuPins } from './cpu-pinning';
import type { ModeId } from './results';
import { WORKLOAD_LABEL } from './workload';

/** `npm run bench`'s modes and command line. */

export const ALL_MODES: ModeId[] = [
  'monolith',
  'monolith-filters',
  'nano',
  'nano-held',
  'nano-s3',
  'fused',
  'nano-single',
  'ceiling',
  'ceiling-plain',
  'nano-cluster',
  'ceiling-cluster',
];
/** Enough pipelines at once to keep the workflow worker and the server busy (see BENCHMARKS.md). */
export const CEILING_IN_FLIGHT = 16;
/**
 * A ceiling mode's pipelines, whatever --count says: measured (at ten or so a second, a stable rate needs many), run
 * before them to warm the server and workers up, and one at a time for the idle hop.
 */
export const CEILING_RUNS = {
  measured: { full: 600, quick: 40 },
  warmup: { full: 50, quick: 10 },
  idle: { full: 10, quick: 2 },
};
/** Modes only full runs include. */
export const FULL_ONLY: ModeId[] = ['monolith-filters', 'nano-single'];
/** Modes on `npm run cluster`'s PostgreSQL-backed server: only with --cluster (they need PostgreSQL and a Go build). */
export const CLUSTER_MODES: ModeId[] = ['nano-cluster', 'ceiling-cluster'];
/** Modes only `--blob s3` (or --modes) adds: they need the S3 server. */
export const S3_ONLY: ModeId[] = ['nano-s3'];

/** The pipeline modes on photo workers, by worker layout. */
export const PHOTO_MODES = [
  {
    id: 'nano',
    layout: 'split',
    fuse: false,
    intermediates: 'store',
    blob: 'file',
    label: '(b) nano-services',
    description:
      'dev server + one worker process per service group (workflow, upload, filter, share; as docker-compose runs them); ' +
      'upload, each filter and the share are activities on their own task queues (7 activities), raw intermediates ' +
      'through the blob store',
  },
  {
    id: 'nano-held',
    layout: 'split',
    fuse: false,
    intermediates: 'memory',
    blob: 'file',
    label: '(b) nano, held intermediates',
    description:
      "as (b), with the workflow input's intermediates: 'memory': each filter step's result stays in the filter " +
      "worker's memory and the next step goes to that worker's own task queue (any worker would make it again from " +
      'the original if that one were gone); no intermediate blobs, no deleteScratch',
  },
  {
    id: 'nano-s3',
    layout: 'split',
    fuse: false,
    intermediates: 'store',
    blob: 's3',
    label: '(b) nano, S3 store',
    description:
      'as (b), with a second set of worker processes whose blob store and gallery are a local S3 server (versitygw ' +
      'on 127.0.0.1, serving a folder on the same disk), as hosts that share no disk would run them',
  },
  {
    id: 'fused',
    layout: 'split',
    fuse: true,
    intermediates: 'store',
    blob: 'file',
    label: '(c) nano, fused filters',
    description:
      'the same deployment; the workflow input asks for fuse: true, so the filters run as one applyChain activity ' +
      '(upload → applyChain → gallery: 3 activities), intermediates in memory',
  },
  {
    id: 'nano-single',
    layout: 'single',
    fuse: false,
    intermediates: 'store',
    blob: 'file',
    label: '(b) nano, one worker process',
    description:
      'as (b), but one worker process serves every service, as a bare `npm run worker` does; measured after the rounds ' +
      '(its ratio is less exact)',
  },
] as const;

/** The modes measured on their own deployments, outside the photo modes' rounds: what each one measures. */
export const OTHER_MODES = {
  ceiling: {
    id: 'ceiling',
    label: 'ceiling: processPhoto',
    description:
      'processPhoto with the workload input against no-op upload, filter and share activities: upload + 6 steps ' +
      "(7 activities, with the workflow's validation, search attributes, memo, patches and query), on the real " +
      'workflow worker',
  },
  'ceiling-plain': {
    id: 'ceiling-plain',
    label: 'ceiling: plain workflow',
    description:
      'the same 7 activities with the same inputs, task queues and options, called in a row by a workflow with none ' +
      "of processPhoto's bookkeeping (src/bench/plain-workflow.ts), on a workflow worker with the real one's " +
      'options: Temporal alone',
  },
  'nano-cluster': {
    id: 'nano-cluster',
    label: '(b) nano on PostgreSQL',
    description:
      'as (b), on `npm run cluster`: the Temporal server with 4 history shards on PostgreSQL instead of the dev ' +
      'server on SQLite',
  },
  'ceiling-cluster': {
    id: 'ceiling-cluster',
    label: 'ceiling on PostgreSQL',
    description: 'as ceiling: processPhoto, on the PostgreSQL-backed server with 4 history shards',
  },
} as const;

export const HELP = `Usage: npm run bench -- [--quick] [--json FILE] [--photos DIR] [options]

Runs the same photo job several ways on this machine, one after another, and compares them. The job:
${WORKLOAD_LABEL}, on real photographs.
  monolith   (a) the same code in one process, no Temporal
  nano       (b) a dev server and worker processes (one per service group), one activity per filter
  nano-held  (b) with intermediates held in the filter worker's memory (intermediates: 'memory')
  nano-s3    (b) with the blob store and gallery on a local S3 server (versitygw; with --blob s3)
  fused      (c) the same deployment; the caller asks for the filters as one activity (fuse: true)
  nano-single     (b) with one worker process for all services, as a bare \`npm run worker\` (full runs only)
  ceiling    the real workflow with no-op services: what orchestration alone sustains (pipelines/s)
  ceiling-plain   the same activities called by a plain workflow: Temporal alone, the reference for the ceiling
  monolith-filters   the filter chain alone on photos in memory (full runs only; a reference)
  nano-cluster, ceiling-cluster   nano and ceiling on the production-shape cluster (PostgreSQL, 4 shards; --cluster)
Prints a table (progress lines go to stderr), and on full runs writes BENCHMARKS.md. Takes a few minutes;
--quick takes under a minute and only proves the harness works.

Options:
  --quick              few runs of each mode (numbers are not stable)
  --json FILE          also write the results as JSON to FILE (\`-\`: print them on stdout instead of the table)
  --photos DIR         JPEG photos to use (default: Debian's mate-backgrounds photos in ${path.relative(projectRoot, samplePhotoDir)},
                       fetched once; else a generated 12-megapixel image)
  --count N            measured photos per mode (default 48, quick 8); the ceilings measure ${CEILING_RUNS.measured.full} pipelines
                       each (quick ${CEILING_RUNS.measured.quick})
  --in-flight N        photos in flight (default 8)
  --rounds N           monolith, nano and fused take turns in N rounds of count/N photos each, and so do the
                       two ceilings; each round starts one mode further on (default 3, quick 1)
  --ceiling-in-flight N   pipelines in flight in the ceiling modes (default ${CEILING_IN_FLIGHT}); with
                       --worker-env NOOP_DELAY_MS=D their no-op activities answer after D ms, at a real service's pace
  --modes LIST         comma-separated subset of: ${ALL_MODES.join(', ')}
  --cluster            also run nano and ceiling on a fresh \`npm run cluster\` server (PostgreSQL, 4 shards)
  --blob s3            also run nano-s3, interleaved with the others (the S3 server is built the first time)
  --markdown FILE      where to write the report (default BENCHMARKS.md on full runs, none with --quick)
  --server-db D        file: a SQLite file with the settings of \`npm run server\` (default); memory
  --concurrency S=N    worker concurrency for service S (processes of one service group), repeatable
  --worker-env K=V     extra environment for worker and monolith processes, repeatable (to try settings)
  --cpus GROUP=LIST    bind processes to CPUs (taskset lists: 0, 0-1, 0,2), repeatable; GROUP: server (the dev
                       server, the S3 server and this client), workers (the monolith and every worker), or a
                       service (${SERVICE_NAMES.join(', ')}: its own worker process). E.g. --cpus server=0
                       --cpus workers=1 compares the monolith and the workers on one CPU with the server on another,
                       as on a host of its own; the targets then also compare the CPU of the processes on the
                       monolith's CPUs (not with the cluster modes; write the report elsewhere: --markdown)
  --keep               keep the temporary folder (logs, blobs, database); a run that fails keeps it anyway, for
                       its logs (one interrupted with Ctrl-C does not)
  -h, --help           this text`;

function positive(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 10_000)
    throw new Error(`${name}: expected a positive integer, received ${raw}`);
  return n;
}

function keyValues(name: string, list: string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of list ?? []) {
    const eq = item.indexOf('=');
    if (eq < 1) throw new Error(`${name}: expected KEY=VALUE, received ${item}`);
    out[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return out;
}

export interface Options {
  quick: boolean;
  /** Where to write JSON results; `-` for stdout. */
  json?: string;
  photos?: string;
  modes: ModeId[];
  count: number;
  rounds: number;
  limit: number;
  ceilingLimit: number;
  markdownFile?: string;
  persistent: boolean;
  concurrency: Partial<Record<ServiceName, number>>;
  workerEnv: Record<string, string>;
  cpus: CpuPins;
  keep: boolean;
}

export function parseOptions(args: string[]): Options | 'help' {
  const { values } = parseArgs({
    args,
    options: {
      quick: { type: 'boolean', default: false },
      json: { type: 'string' },
      photos: { type: 'string' },
      count: { type: 'string' },
      'in-flight': { type: 'string' },
      rounds: { type: 'string' },
      'ceiling-in-flight': { type: 'string' },
      modes: { type: 'string' },
      blob: { type: 'string', default: 'file' },
      markdown: { type: 'string' },
      'server-db': { type: 'string', default: 'file' },
      concurrency: { type: 'string', multiple: true },
      'worker-env': { type: 'string', multiple: true },
      cpus: { type: 'string', multiple: true },
      keep: { type: 'boolean', default: false },
      cluster: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  const quick = values.quick!;
  if (values.blob !== 'file' && values.blob !== 's3')
    throw new Error(`--blob: expected file or s3, received ${values.blob}`);
  const modes = (values.modes?.split(',').map((m) => m.trim()) ??
    ALL_MODES.filter(
      (m) =>
        !(quick && FULL_ONLY.includes(m)) &&
        (values.cluster || !CLUSTER_MODES.includes(m)) &&
        !(values.blob !== 's3' && S3_ONLY.includes(m)),
    )) as ModeId[];
  for (const m of modes)
    if (!ALL_MODES.includes(m)) throw new Error(`--modes: unknown mode ${m}; expected some of ${ALL_MODES.join(', ')}`);
  if (values['server-db'] !== 'file' && values['server-db'] !== 'memory')
    throw new Error(`--server-db: expected file or memory, received ${values['server-db']}`);
  const concurrency = Object.fromEntries(
    Object.entries(keyValues('--concurrency', values.concurrency)).map(([service, n]) => {
      if (!SERVICE_NAMES.includes(service as ServiceName)) throw new Error(`--concurrency: unknown service ${service}`);
      return [service, positive(`--concurrency ${service}`, n, 1)];
    }),
  ) as Partial<Record<ServiceName, number>>;
  const workerEnv = keyValues('--worker-env', values['worker-env']);
  const cpus = parseCpuPins(values.cpus ?? []);
  const clusterModes = modes.filter((m) => CLUSTER_MODES.includes(m));
  if (Object.keys(cpus).length > 0 && clusterModes.length > 0) {
    throw new Error(
      `--cpus: expected no cluster modes with it (PostgreSQL's backends would not be bound), received ${clusterModes.join(', ')}`,
    );
  }
  const count = positive('--count', values.count, quick ? 8 : 48);
  const rounds = Math.min(count, positive('--rounds', values.rounds, quick ? 1 : 3));
  const limit = positive('--in-flight', values['in-flight'], 8);
  const ceilingLimit = positive('--ceiling-in-flight', values['ceiling-in-flight'], CEILING_IN_FLIGHT);
  const markdownFile = values.markdown ?? (quick ? undefined : path.join(projectRoot, 'BENCHMARKS.md'));

  return {
    quick,
    json: values.json,
    photos: values.photos,
    modes,
    count,
    rounds,
    limit,
    ceilingLimit,
    markdownFile,
    persistent: values['server-db'] === 'file',
    concurrency,
    workerEnv,
    cpus,
    keep: values.keep!,
  };
}
