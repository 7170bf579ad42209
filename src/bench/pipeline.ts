import { chmodSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { ServiceName } from '../common/task-queues';
import type { ProcessPhotoInput } from '../common/workflow-io';
import { Cluster } from '../cluster/cluster';
import type { ClusterBinaries } from '../provision/temporal-server';
import type { Child } from '../lib/child-processes';
import { startPhotoRun } from '../lib/photo-runs';
import { startNodeProcess, startServer, startWorker } from './cluster';
import { emptyGallery } from './gallery';
import { timeline } from './history';
import { PLAIN_TASK_QUEUE, plainPipeline } from './plain-workflow';
import { UsageSampler, type Watched } from './procfs';
import { hopStats, type BenchContext, type Round } from './results';
import { inFlight } from './stats';
import { WORKLOAD_FILTERS, WORKLOAD_SHARE, type JobTiming } from './workload';

/** Modes (b), (c) and the ceilings: a dev server, worker processes, and workflows started and timed from here. */

export type Layout = 'split' | 'single';

export function workerGroups(
  layout: Layout,
  concurrency: Partial<Record<ServiceName, number>>,
): { services: ServiceName[]; concurrency?: number }[] {
  if (layout === 'single') return [{ services: ['workflow', 'upload', 'filter', 'share'] }];
  return (['workflow', 'upload', 'filter', 'share'] as const).map((s) => ({
    services: [s],
    concurrency: concurrency[s],
  }));
}

export interface Deployment {
  server: { address: string };
  client: Client;
  connection: Connection;
  workers: Child[];
  /** Other processes the mode depends on, measured with it (e.g. the S3 server). */
  services: Watched[];
  dataDir: string;
  /** The photo workers' environment, once they are started (their gallery is emptied before each round). */
  workerEnv?: Record<string, string>;
  watched(): Watched[];
  stopWorkers(): Promise<void>;
  /** Workers, client connection and server, in that order. */
  stop(): Promise<void>;
}

/**
 * A fresh dev server (its own database, so earlier modes' histories don't slow later ones down) and a fresh data
 * folder; workers are started separately.
 */
export async function deploy(ctx: BenchContext, name: string, persistent: boolean): Promise<Deployment> {
  const dbFile = persistent ? path.join(ctx.workDir, `${name}.db`) : undefined;
  const server = await startServer(dbFile, path.join(ctx.workDir, `dev-server-${name}.log`));
  return deployOn(ctx, name, server.address, [{ label: 'dev-server', pid: server.child.pid }], () =>
    server.child.stop(),
  );
}

/** The same on a fresh production-shape cluster (PostgreSQL, 4-shard server; `npm run cluster`), in the work folder. */
export async function deployOnCluster(ctx: BenchContext, name: string, binaries: ClusterBinaries): Promise<Deployment> {
  chmodSync(ctx.workDir, 0o755); // PostgreSQL runs as an unprivileged user and must reach its folder
  const cluster = await Cluster.start({ binaries, dir: path.join(ctx.workDir, `cluster-${name}`), ui: false });
  const servers = [
    { label: 'temporal-server', pid: cluster.server!.pid },
    // The postmaster only: its backends are separate processes (machine CPU counts them).
    { label: 'postgres', pid: cluster.postgres!.process.pid },
  ];
  return deployOn(ctx, name, cluster.address, servers, () => cluster.stop());
}

async function deployOn(
  ctx: BenchContext,
  name: string,
  address: string,
  servers: { label: string; pid: number }[],
  stopServers: () => Promise<void>,
): Promise<Deployment> {
  const server = { address };
  const connection = await Connection.connect({ address });
  const dataDir = path.join(ctx.workDir, `data-${name}`);
  mkdirSync(dataDir, { recursive: true });
  const deployment: Deployment = {
    server,
    connection,
    client: new Client({ connection }),
    workers: [],
    services: [],
    dataDir,
    watched: () => [
      ...deployment.workers.map((w) => ({ label: w.name, pid: w.pid, worker: true })),
      ...deployment.services,
      ...servers.map((s) => ({ ...s, worker: false })),
      { label: 'bench client', pid: process.pid, worker: false },
    ],
    async stopWorkers() {
      await Promise.all(deployment.workers.map((w) => w.stop()));
      deployment.workers = [];
    },
    async stop() {
      await deployment.stopWorkers();
      await connection.close().catch(() => undefined);
      await stopServers();
    },
  };
  return deployment;
}

export async function startPhotoWorkers(
  ctx: BenchContext,
  d: Deployment,
  layout: Layout,
  concurrency: Partial<Record<ServiceName, number>>,
  env: Record<string, string>,
): Promise<void> {
  const groups = workerGroups(layout, concurrency);
  d.workerEnv = env;
  d.workers = await Promise.all(
    groups.map((g) =>
      startWorker(g, d.server.address, d.dataDir, path.join(ctx.workDir, `worker-${g.services.join('+')}.log`), env),
    ),
  );
}

/** The real workflow worker, no-op activity workers, and the plain pipeline's workflow worker. */
export async function startNoopWorkers(ctx: BenchContext, d: Deployment, env: Record<string, string>): Promise<void> {
  const noop = (role: string) =>
    startNodeProcess({
      label: `worker:noop-${role}`,
      entry: 'src/bench/noop-worker.ts',
      args: [role],
      env: { TEMPORAL_ADDRESS: d.server.address, ...env },
      logFile: path.join(ctx.workDir, `noop-${role}.log`),
      readyLine: /serving/,
    });
  d.workers = await Promise.all([
    startWorker(
      { services: ['workflow'] },
      d.server.address,
      d.dataDir,
      path.join(ctx.workDir, 'worker-workflow-ceiling.log'),
      env,
    ),
    noop('activities'),
    noop('plain-workflows'),
  ]);
}

let runNumber = 0;

/** Runs one workflow per photo, `limit` at once; times each from the start request to its result. */
async function runWorkflows(
  client: Client,
  photos: string[],
  limit: number,
  input: PipelineInput,
  tag: string,
): Promise<{ timings: JobTiming[]; ids: string[] }> {
  const batch = ++runNumber;
  const ids: string[] = [];
  const t0 = performance.now();
  const timings = await inFlight(photos, limit, async (photo, i): Promise<JobTiming> => {
    const workflowId = `bench-${tag}-${process.pid}-${batch}-${i}`;
    ids[i] = workflowId;
    const startMs = performance.now() - t0;
    const { plain, ...rest } = input;
    const args = [{ source: { path: photo }, ...rest }] as const;
    const handle = plain
      ? await client.workflow.start(plainPipeline, { taskQueue: PLAIN_TASK_QUEUE, workflowId, args })
      : await startPhotoRun(client, args[0], workflowId);
    const result = await handle.result();
    const output = typeof result === 'object' ? result.output.key : undefined;
    return { photo, startMs, endMs: performance.now() - t0, resultAt: Date.now(), output };
  });
  return { timings, ids };
}

async function historiesOf(client: Client, ids: string[]) {
  const timelines = [];
  for (const id of ids) {
    const history = await client.workflow.getHandle(id).fetchHistory();
    timelines.push(timeline(history.events ?? []));
  }
  return timelines;
}

/** processPhoto's input; `plain`: the same activities run by the plain pipeline (plain-workflow.ts) instead. */
export type PipelineInput = Omit<ProcessPhotoInput, 'source'> & { plain?: boolean };

/** Warm-up runs, then a few runs one at a time: the hop without any load (orchestration cost, no queueing). */
export async function warmUp(
  ctx: BenchContext,
  d: Deployment,
  tag: string,
  input: PipelineInput,
  warmup: string[],
  idle: string[],
  limit: number,
) {
  if (warmup.length) await runWorkflows(d.client, warmup, limit, input, `${tag}-warmup`);
  if (idle.length === 0) return undefined;
  const { ids } = await runWorkflows(d.client, idle, 1, input, `${tag}-idle`);
  const hops = hopStats((await historiesOf(d.client, ids)).flatMap((t) => t.hops));
  ctx.log(`  ${tag}: warmed up (${warmup.length} runs); one at a time: hop p50 ${hops.p50.toFixed(1)} ms`);
  return hops;
}

/** One measured batch of workflows, with CPU and RSS sampling and the runs' timelines. */
export async function pipelineRound(
  d: Deployment,
  tag: string,
  input: PipelineInput,
  jobs: string[],
  limit: number,
): Promise<Round> {
  if (d.workerEnv) await emptyGallery(d.dataDir, d.workerEnv);
  const sampler = new UsageSampler(d.watched()).start();
  const { timings, ids } = await runWorkflows(d.client, jobs, limit, input, tag);
  const usage = sampler.stop();
  const timelines = await historiesOf(d.client, ids);
  return { timings, usage, timelines, resultDelays: timelines.map((t, i) => timings[i].resultAt! - t.closedAt) };
}

export const PHOTO_INPUT: Omit<ProcessPhotoInput, 'source'> = { filters: WORKLOAD_FILTERS, share: WORKLOAD_SHARE };

/** The workload as a photo mode asks for it: its filters fused or not, its intermediates stored or held. */
export const modeInput = (
  mode: Pick<ProcessPhotoInput, 'fuse' | 'intermediates'>,
): Omit<ProcessPhotoInput, 'source'> => ({
  ...PHOTO_INPUT,
  fuse: mode.fuse,
  intermediates: mode.intermediates,
});
