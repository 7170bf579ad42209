import type { Hop, RunTimeline } from './history';
import type { Usage } from './procfs';
import { mean, percentile } from './stats';
import type { JobTiming } from './workload';

/** What a benchmark mode measured, and how rounds of measurements combine into one result. */

export type ModeId =
  | 'monolith'
  | 'monolith-filters'
  | 'nano'
  | 'nano-held'
  | 'nano-s3'
  | 'fused'
  | 'nano-single'
  | 'ceiling'
  | 'ceiling-plain'
  | 'nano-cluster'
  | 'ceiling-cluster';

export interface HopStats {
  count: number;
  p50: number;
  p95: number;
  /** Medians of the hop's parts (see history.ts). */
  toWorkflowTaskP50: number;
  workflowTaskP50: number;
  toActivityP50: number;
  /** Median total by step transition, e.g. `upload→resize`. */
  byTransition: Record<string, { count: number; p50: number; toActivityP50: number }>;
}

export interface ModeResult {
  id: ModeId;
  label: string;
  description: string;
  unit: 'photos/s' | 'pipelines/s';
  /** Measured batches, interleaved with the other modes' (see run-bench.ts). */
  rounds: number;
  jobs: number;
  inFlight: number;
  seconds: number;
  /** Runs per second: the median round's with three rounds or more, else all runs over all rounds' time. */
  throughput: number;
  roundThroughputs: number[];
  latency: { p50: number; p95: number; mean: number };
  /** Hops under the measured load. */
  hops?: HopStats;
  /** Hops with one run in flight on an otherwise idle machine: orchestration cost without queueing. */
  idleHops?: HopStats;
  /** Workflow start → first activity start, median. */
  firstDispatchP50?: number;
  /** Time inside each activity type (start → completion, blob reads and writes included), median ms. */
  stepP50?: Record<string, number>;
  usage: Usage;
  /** CPU milliseconds per photo (or pipeline) by process. */
  cpuMsPerJob: Record<string, number>;
  ratio?: number;
  /** Activity retries in the measured runs (attempts after the first, with the cause): 0 in a healthy run. */
  retries: string[];
  /** Workflow and activity task timeouts and failures in the measured runs: none in a healthy run. */
  incidents: string[];
  /** The longest pause between two events of one run, and the event that ended it. */
  longestGap?: { ms: number; before: string };
  /** The longest time between a run closing and its result reaching the benchmark client (ms). */
  maxResultDelayMs?: number;
  /**
   * Output blob keys by every photo the mode ran (one key, unless runs of the same photo differed; none if no run of
   * it gave an output), where the mode produces photos.
   */
  outputs: Record<string, string[]>;
}

export interface BenchContext {
  workDir: string;
  log(line: string): void;
}

export function hopStats(hops: Hop[]): HopStats {
  const p50 = (f: (h: Hop) => number) => percentile(hops.map(f), 50);
  return {
    count: hops.length,
    p50: p50((h) => h.totalMs),
    p95: percentile(
      hops.map((h) => h.totalMs),
      95,
    ),
    toWorkflowTaskP50: p50((h) => h.toWorkflowTaskMs),
    workflowTaskP50: p50((h) => h.workflowTaskMs),
    toActivityP50: p50((h) => h.toActivityMs),
    byTransition: Object.fromEntries(
      [...new Set(hops.map((h) => `${h.from}→${h.to}`))].map((key) => {
        const some = hops.filter((h) => `${h.from}→${h.to}` === key);
        const med = (f: (h: Hop) => number) => percentile(some.map(f), 50);
        return [key, { count: some.length, p50: med((h) => h.totalMs), toActivityP50: med((h) => h.toActivityMs) }];
      }),
    ),
  };
}

function stepMedians(timelines: RunTimeline[]): Record<string, number> {
  const steps = timelines.flatMap((t) => t.steps);
  return Object.fromEntries(
    [...new Set(steps.map((s) => s.type))].map((type) => [
      type,
      percentile(
        steps.filter((s) => s.type === type).map((s) => s.ms),
        50,
      ),
    ]),
  );
}

/** One measured batch of a mode: its timings, what its processes used meanwhile and, for workflows, their timelines. */
export interface Round {
  timings: JobTiming[];
  usage: Usage;
  timelines?: RunTimeline[];
  /** For workflows: how long after the run closed its result reached the client, per run (ms). */
  resultDelays?: number[];
}

export type ModeInfo = Pick<ModeResult, 'id' | 'label' | 'description' | 'unit' | 'inFlight'>;

/** Usage over several rounds: CPU summed, peaks the highest, shares weighted by time. */
function combineUsage(usages: Usage[]): Usage {
  const seconds = usages.reduce((a, u) => a + u.seconds, 0);
  const weighted = (f: (u: Usage) => number) => usages.reduce((a, u) => a + f(u) * u.seconds, 0) / seconds;
  const peak = usages.reduce((a, u) => (u.peakWorkerRss > a.peakWorkerRss ? u : a));
  const processes = new Map<string, Usage['processes'][number]>();
  for (const p of usages.flatMap((u) => u.processes)) {
    const seen = processes.get(p.label);
    processes.set(
      p.label,
      seen
        ? { ...seen, cpuSeconds: seen.cpuSeconds + p.cpuSeconds, peakRss: Math.max(seen.peakRss, p.peakRss) }
        : { ...p },
    );
  }
  return {
    seconds,
    machineCpu: weighted((u) => u.machineCpu),
    otherCpu: weighted((u) => u.otherCpu),
    ioWait: weighted((u) => u.ioWait),
    cores: usages[0].cores,
    processes: [...processes.values()],
    peakWorkerRss: peak.peakWorkerRss,
    workersTogetherAtPeak: peak.workersTogetherAtPeak,
    peakWorkerProcessRss: Math.max(...usages.map((u) => u.peakWorkerProcessRss)),
  };
}

/** A mode's result from its rounds: throughput over the summed round times, latencies and hops pooled. */
export function summarize(info: ModeInfo, rounds: Round[], idleHops?: HopStats): ModeResult {
  const timings = rounds.flatMap((r) => r.timings);
  const roundSeconds = rounds.map((r) => Math.max(...r.timings.map((t) => t.endMs)) / 1000);
  const seconds = roundSeconds.reduce((a, b) => a + b, 0);
  const roundThroughputs = rounds.map((r, i) => r.timings.length / roundSeconds[i]);
  const latencies = timings.map((t) => t.endMs - t.startMs);
  const usage = combineUsage(rounds.map((r) => r.usage));
  const cpuMsPerJob: Record<string, number> = {};
  for (const p of usage.processes)
    cpuMsPerJob[p.label] = (cpuMsPerJob[p.label] ?? 0) + (p.cpuSeconds * 1000) / timings.length;
  const timelines = rounds.flatMap((r) => r.timelines ?? []);
  return {
    ...info,
    rounds: rounds.length,
    jobs: timings.length,
    seconds,
    // The median round from three or more: one round disturbed by something else on the machine doesn't decide it.
    throughput: rounds.length >= 3 ? percentile(roundThroughputs, 50) : timings.length / seconds,
    roundThroughputs,
    latency: { p50: percentile(latencies, 50), p95: percentile(latencies, 95), mean: mean(latencies) },
    hops: timelines.length ? hopStats(timelines.flatMap((t) => t.hops)) : undefined,
    idleHops,
    firstDispatchP50: timelines.length
      ? percentile(
          timelines.map((t) => t.firstDispatchMs),
          50,
        )
      : undefined,
    stepP50: timelines.length ? stepMedians(timelines) : undefined,
    usage,
    cpuMsPerJob,
    retries: timelines.flatMap((t) => t.retries),
    incidents: timelines.flatMap((t) => t.incidents),
    maxResultDelayMs: timelines.length ? Math.max(...rounds.flatMap((r) => r.resultDelays ?? [])) : undefined,
    longestGap: timelines.reduce<ModeResult['longestGap']>(
      (g, t) => (g && g.ms >= t.longestGap.ms ? g : t.longestGap),
      undefined,
    ),
    // Every photo the mode ran is listed, with no key if no run of it gave an output: a gap the report flags.
    outputs: timings.reduce<Record<string, string[]>>((acc, t) => {
      const keys = (acc[t.photo] ??= []);
      if (t.output && !keys.includes(t.output)) keys.push(t.output);
      return acc;
    }, {}),
  };
}
