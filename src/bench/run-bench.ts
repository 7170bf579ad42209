import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { SERVICE_NAMES } from '../common/task-queues';
import { devServerArgs } from '../lib/dev-server';
import { projectRoot } from '../lib/project-root';
import { startS3Server, type S3Server } from '../lib/s3-server';
import { VERSITYGW_VERSION } from '../provision/versitygw';
import { provisionTemporalCli } from '../provision/temporal-cli';
import { provisionCluster, SERVER_VERSION } from '../provision/temporal-server';
import { sharedServerEnv } from '../cluster/server-env';
import { samplePhotos } from '../lib/sample-photos';
import { DEFAULT_CONCURRENCY } from '../lib/workers';
import { pinAsServer, stopAll, useCpus, workerAllocator } from './cluster';
import { describePins } from './cpu-pinning';
import { MONOLITH_MODES, MonolithRunner } from './monolith-runner';
import {
  ALL_MODES,
  CEILING_RUNS,
  CLUSTER_MODES,
  OTHER_MODES,
  PHOTO_MODES,
  type Options as BenchOptions,
} from './options';
import {
  deploy,
  deployOnCluster,
  PHOTO_INPUT,
  modeInput,
  pipelineRound,
  startNoopWorkers,
  startPhotoWorkers,
  warmUp,
  type Deployment,
  type PipelineInput,
} from './pipeline';
import { checkOutputs, describeMachine, judge, markdown, printable, type BenchReport } from './report';
import { summarize, type BenchContext, type HopStats, type ModeInfo, type ModeResult, type Round } from './results';
import { turnOrder } from './stats';
import { jobList, WORKLOAD_LABEL } from './workload';

/**
 * `npm run bench`: runs the photo job as a monolith, as nano-services, fused, and the orchestration alone, and
 * reports throughput, latency, per-hop overhead, CPU and RSS (see options.ts for the modes, BENCHMARKS.md for results).
 */

/** A folder inside the project by its relative path (the report is committed), any other by its absolute one. */
function photoSource(dir: string): string {
  const relative = path.relative(projectRoot, dir);
  return relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : dir;
}

async function megapixels(photos: string[]): Promise<string> {
  const sizes = await Promise.all(
    photos.map(async (p) => {
      const m = await sharp(p).metadata();
      return (m.width * m.height) / 1e6;
    }),
  );
  const lo = Math.min(...sizes);
  const hi = Math.max(...sizes);
  return lo === hi ? `${hi.toFixed(1)} MP` : `${lo.toFixed(1)}–${hi.toFixed(1)} MP`;
}

/** Runs the benchmark the options describe; fails (exit code 1) unless all modes' outputs are there and equal. */
export async function runBench(options: BenchOptions): Promise<void> {
  const { quick, modes, count, rounds, limit, ceilingLimit, markdownFile, persistent, concurrency } = options;

  const began = performance.now();
  const log = (line: string) =>
    console.error(`[bench ${((performance.now() - began) / 1000).toFixed(0).padStart(3)}s] ${line}`);
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'nano-photos-bench-'));
  const ctx: BenchContext = { workDir, log };
  let interrupted = false;
  let s3: S3Server | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = true;
    log(`${signal}: stopping the processes this benchmark started...`);
    void Promise.all([stopAll(), s3?.stop()]).finally(() => {
      if (!options.keep) rmSync(workDir, { recursive: true, force: true });
      process.exit(130);
    });
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  useCpus(options.cpus);
  const photos = await samplePhotos(options.photos);
  // The upload workers read the photos where they are: their folders are this benchmark's upload roots.
  const photoDirs = [...new Set(photos.map((p) => path.dirname(p)))];
  const workerEnv = { NANO_PHOTOS_UPLOAD_ROOTS: photoDirs.join(path.delimiter), ...options.workerEnv };
  const jobs = jobList(photos, count);
  const warmup = jobList(photos, quick ? 2 : limit);
  // The idle hop: each photo of the workload once, one at a time, after the warm-up, as the loaded hop sees them all
  // (with the first four photos only, one mode's idle hop ranged from 9 to 15 ms between runs).
  const idle = jobList(photos, quick ? 1 : photos.length);
  const cli = modes.some((m) => !m.startsWith('monolith')) ? await provisionTemporalCli() : undefined;
  const clusterBinaries = modes.some((m) => CLUSTER_MODES.includes(m))
    ? await provisionCluster(provisionTemporalCli)
    : undefined;
  const pragmas = devServerArgs({ port: 0, uiPort: false, dbFile: 'x' }).filter(
    (_, i, a) => a[i - 1] === '--sqlite-pragma',
  );
  log(
    `${photos.length} photos from ${path.dirname(photos[0])}; ${count} per mode, ${limit} in flight; modes: ${modes.join(', ')}`,
  );
  log(
    `work folder ${workDir}; worker environment: ${Object.entries(workerEnv)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ')}`,
  );

  const results: ModeResult[] = [];
  /** Runs split into rounds: contiguous slices, so each round holds the same mix of photos. */
  const inRounds = (list: string[]) =>
    Array.from({ length: rounds }, (_, r) =>
      list.slice(Math.floor((r * list.length) / rounds), Math.floor(((r + 1) * list.length) / rounds)),
    );
  const slices = inRounds(jobs);
  /** The ceilings' runs, each on a no-op "photo": measured, warm-up, and one at a time for the idle hop. */
  const noop = (n: number) => jobList(['/bench/no-op.jpg'], n);
  const size = quick ? 'quick' : 'full';
  const ceilingJobs = {
    measured: noop(CEILING_RUNS.measured[size]),
    warmup: noop(CEILING_RUNS.warmup[size]),
    idle: noop(CEILING_RUNS.idle[size]),
  };
  const rate = (round: Round) => round.timings.length / (Math.max(...round.timings.map((t) => t.endMs)) / 1000);
  /** A round's CPU per run by process, for the log: shows a cost that grows from round to round, and where. */
  const cpuOf = (round: Round) =>
    round.usage.processes
      .filter((p) => p.cpuSeconds > 0)
      .map((p) => `${p.label} ${Math.round((p.cpuSeconds * 1000) / round.timings.length)}`)
      .join(', ');
  try {
    // The modes the targets compare run interleaved, round by round, each process warmed up once beforehand: a
    // machine that gets faster or slower meanwhile (a shared VM does) then treats them alike.
    const interleaved: { info: ModeInfo; rounds: Round[]; idleHops?: HopStats; run(jobs: string[]): Promise<Round> }[] =
      [];
    let monolith: MonolithRunner | undefined;
    const splits: Deployment[] = [];
    try {
      if (modes.includes('monolith')) {
        log('starting the monolith process (and warming it up)');
        monolith = await MonolithRunner.start(ctx, 'job', warmup, limit, workerEnv);
        interleaved.push({
          info: { ...MONOLITH_MODES.job, unit: 'photos/s', inFlight: limit },
          rounds: [],
          run: (j) => monolith!.round(j),
        });
      }
      const splitModes = PHOTO_MODES.filter((m) => m.layout === 'split' && modes.includes(m.id));
      // One deployment per blob driver, each with its own dev server (workers of both on one server would share
      // the task queues): the S3 one's workers have only the S3 server's settings for their stores.
      for (const blob of ['file', 's3'] as const) {
        const group = splitModes.filter((m) => m.blob === blob);
        if (!group.length) continue;
        let env = workerEnv;
        if (blob === 's3') {
          const s3Log = openSync(path.join(workDir, 's3-server.log'), 'a');
          s3 = await startS3Server({ dir: path.join(workDir, 's3'), logFile: s3Log }).finally(() => closeSync(s3Log));
          if (s3.pid) pinAsServer(s3.pid);
          log(`started a local S3 server (versitygw ${VERSITYGW_VERSION}, pid ${s3.pid}) on ${s3.endpoint}`);
          env = { ...workerEnv, ...s3.env() };
        }
        log(`starting a dev server and worker processes, one per service group (${blob} blob store)`);
        const d = await deploy(ctx, `photos-split-${blob}`, persistent);
        splits.push(d);
        if (s3?.pid && blob === 's3') d.services.push({ label: 's3-server', pid: s3.pid, worker: false });
        await startPhotoWorkers(ctx, d, 'split', concurrency, env);
        log(`  server ${d.server.address}; workers ${d.workers.map((w) => `${w.name} (pid ${w.pid})`).join(', ')}`);
        for (const mode of group) {
          const input = modeInput(mode);
          interleaved.push({
            info: { id: mode.id, label: mode.label, description: mode.description, unit: 'photos/s', inFlight: limit },
            rounds: [],
            idleHops: await warmUp(ctx, d, mode.id, input, warmup, idle, limit),
            run: (j) => pipelineRound(d, mode.id, input, j, limit),
          });
        }
      }
      for (let r = 0; r < rounds; r++) {
        for (const mode of turnOrder(interleaved, r)) {
          const round = await mode.run(slices[r]);
          mode.rounds.push(round);
          log(
            `round ${r + 1}/${rounds}, ${mode.info.id}: ${round.timings.length} photos, ${rate(round).toFixed(2)} photos/s; ` +
              `CPU ms per photo: ${cpuOf(round)}`,
          );
        }
      }
      results.push(...interleaved.map((m) => summarize(m.info, m.rounds, m.idleHops)));
    } finally {
      await monolith?.stop();
      for (const d of splits) await d.stop();
      await s3?.stop();
    }

    // References and the other deployments, one after another.
    if (modes.includes('monolith-filters')) {
      log('monolith-filters: starting the monolith process (and warming it up)');
      const runner = await MonolithRunner.start(ctx, 'filters', warmup, limit, workerEnv);
      try {
        const round = await runner.round(jobs);
        results.push(summarize({ ...MONOLITH_MODES.filters, unit: 'photos/s', inFlight: limit }, [round]));
        log(`  ${rate(round).toFixed(2)} photos/s`);
      } finally {
        await runner.stop();
      }
    }
    /** A fresh dev server for a group of modes, stopped with its workers when the group is done. */
    const onFreshServer = async (name: string, body: (d: Deployment) => Promise<void>) => {
      const deployment = await deploy(ctx, name, persistent);
      try {
        await body(deployment);
      } finally {
        await deployment.stop();
      }
    };
    const measure = async (
      d: Deployment,
      info: ModeInfo,
      input: PipelineInput,
      jobsHere: string[],
      warm: string[],
      idleHere: string[],
    ) => {
      const idleHops = await warmUp(ctx, d, info.id, input, warm, idleHere, info.inFlight);
      const round = await pipelineRound(d, info.id, input, jobsHere, info.inFlight);
      results.push(summarize(info, [round], idleHops));
      log(`  ${info.id}: ${rate(round).toFixed(2)} ${info.unit}, hop p50 ${results.at(-1)!.hops!.p50.toFixed(1)} ms`);
    };
    for (const mode of PHOTO_MODES.filter((m) => m.layout === 'single' && modes.includes(m.id))) {
      log(`${mode.id}: starting a dev server and one worker process for all services`);
      await onFreshServer('photos-single', async (d) => {
        await startPhotoWorkers(ctx, d, 'single', concurrency, workerEnv);
        const info: ModeInfo = {
          id: mode.id,
          label: mode.label,
          description: mode.description,
          unit: 'photos/s',
          inFlight: limit,
        };
        await measure(d, info, modeInput(mode), jobs, warmup, idle);
      });
    }
    const ceilings = (['ceiling', 'ceiling-plain'] as const).filter((id) => modes.includes(id));
    if (ceilings.length) {
      log('ceiling: starting a dev server, the real workflow worker and no-op activity workers');
      await onFreshServer('ceiling', async (d) => {
        await startNoopWorkers(ctx, d, workerEnv);
        // The two ceilings take turns in rounds, as the photo modes do: their ratio is one of the targets.
        const turns = [];
        for (const id of ceilings) {
          const info: ModeInfo = { ...OTHER_MODES[id], unit: 'pipelines/s', inFlight: ceilingLimit };
          const input = { ...PHOTO_INPUT, plain: id === 'ceiling-plain' };
          const idleHops = await warmUp(ctx, d, id, input, ceilingJobs.warmup, ceilingJobs.idle, ceilingLimit);
          turns.push({ info, input, idleHops, rounds: [] as Round[] });
        }
        const runs = inRounds(ceilingJobs.measured);
        for (let r = 0; r < rounds; r++) {
          for (const turn of turnOrder(turns, r)) {
            const round = await pipelineRound(d, turn.info.id, turn.input, runs[r], ceilingLimit);
            turn.rounds.push(round);
            log(
              `round ${r + 1}/${rounds}, ${turn.info.id}: ${rate(round).toFixed(2)} pipelines/s; ` +
                `CPU ms per pipeline: ${cpuOf(round)}`,
            );
          }
        }
        results.push(...turns.map((t) => summarize(t.info, t.rounds, t.idleHops)));
      });
    }
    if (clusterBinaries) {
      const onCluster = async (name: string, body: (d: Deployment) => Promise<void>) => {
        const deployment = await deployOnCluster(ctx, name, clusterBinaries);
        try {
          await body(deployment);
        } finally {
          await deployment.stop();
        }
      };
      if (modes.includes('nano-cluster')) {
        log('nano-cluster: starting a cluster (PostgreSQL, 4 shards) and worker processes, one per service group');
        await onCluster('photos', async (d) => {
          await startPhotoWorkers(ctx, d, 'split', concurrency, workerEnv);
          const info: ModeInfo = { ...OTHER_MODES['nano-cluster'], unit: 'photos/s', inFlight: limit };
          await measure(d, info, PHOTO_INPUT, jobs, warmup, idle);
        });
      }
      if (modes.includes('ceiling-cluster')) {
        log('ceiling-cluster: starting a cluster, the real workflow worker and no-op activity workers');
        await onCluster('ceiling', async (d) => {
          await startNoopWorkers(ctx, d, workerEnv);
          const info: ModeInfo = { ...OTHER_MODES['ceiling-cluster'], unit: 'pipelines/s', inFlight: ceilingLimit };
          await measure(d, info, PHOTO_INPUT, ceilingJobs.measured, ceilingJobs.warmup, ceilingJobs.idle);
        });
      }
    }
    results.sort((a, b) => ALL_MODES.indexOf(a.id) - ALL_MODES.indexOf(b.id));
  } finally {
    await stopAll();
  }

  const monolith = results.find((r) => r.id === 'monolith');
  for (const r of results)
    if (monolith && ['nano', 'nano-held', 'nano-s3', 'fused', 'nano-single'].includes(r.id))
      r.ratio = r.throughput / monolith.throughput;
  const report: BenchReport = {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    quick,
    machine: describeMachine(cli),
    workload: WORKLOAD_LABEL,
    photos: {
      source: photoSource(options.photos ? path.resolve(options.photos) : path.dirname(photos[0])),
      count: photos.length,
      megapixels: await megapixels(photos),
    },
    settings: {
      'photos per mode': `${count} measured (after ${warmup.length} warm-up runs), ${limit} in flight; monolith, nano and fused interleaved in ${rounds} round${rounds > 1 ? 's' : ''} of ${Math.round(count / rounds)}${rounds > 1 ? ', each round starting one mode further on' : ''}`,
      'dev server': `${persistent ? `SQLite file with ${pragmas.join(', ')}` : 'in-memory SQLite'}, a fresh one for each group of modes (photo workers split, one process, ceiling)`,
      'worker concurrency': SERVICE_NAMES.map((s) => `${s} ${concurrency[s] ?? DEFAULT_CONCURRENCY[s]}`).join(', '),
      'worker environment': Object.entries(workerEnv)
        .map(([k, v]) => `${k}=${v}`)
        .join(' '),
      'worker allocator': workerAllocator(),
      ...(Object.keys(options.cpus).length > 0
        ? { 'CPUs (--cpus, taskset)': `${describePins(options.cpus)}; anything not named runs on any CPU` }
        : {}),
      ceiling: `${ceilingLimit} pipelines in flight; processPhoto and the plain workflow interleaved in ${rounds} round${rounds > 1 ? 's, taking turns to go first' : ''}`,
      'blob store':
        'the file driver in a temporary folder' +
        (modes.includes('nano-s3')
          ? `; nano-s3: versitygw ${VERSITYGW_VERSION} on 127.0.0.1 serving a temporary folder (S3 API over loopback, keep-alive), the gallery in the same bucket`
          : ''),
      gallery:
        "each deployment's own, emptied before every measured round (a share lists and renders the whole gallery)",
      ...(clusterBinaries
        ? {
            cluster: `\`npm run cluster\`'s Temporal server ${SERVER_VERSION} (${sharedServerEnv().NUM_HISTORY_SHARDS} history shards) on PostgreSQL, a fresh one per mode`,
          }
        : {}),
    },
    modes: results,
    targets: judge(results),
  };
  if (options.json === '-') console.log(JSON.stringify(report, null, 2));
  else console.log(printable(report));
  if (options.json && options.json !== '-') {
    writeFileSync(options.json, `${JSON.stringify(report, null, 2)}\n`);
    log(`wrote ${options.json}`);
  }
  if (markdownFile) {
    writeFileSync(markdownFile, markdown(report, markdownFile));
    log(`wrote ${path.relative(process.cwd(), markdownFile) || markdownFile}`);
  }
  if (options.keep) log(`kept ${workDir}`);
  else rmSync(workDir, { recursive: true, force: true });
  // Not a timing assertion: every mode must make the same photo from the same input.
  if (!checkOutputs(results).identical) process.exitCode = 1;
}
