import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';

/**
 * CPU and memory of processes, read from /proc (Linux): what `top` and `ps` show, without their overhead. Other
 * systems get no numbers (NaN) rather than wrong ones.
 */

const TICKS_PER_SECOND = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim()) || 100;

function read(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** User + system CPU seconds a process has used so far (its threads included, exited children not). */
export function processCpuSeconds(pid: number): number {
  const stat = read(`/proc/${pid}/stat`);
  if (!stat) return NaN;
  // The command name is in parentheses and may contain spaces: fields count from after its closing one.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND; // utime, stime (fields 14, 15 of stat)
}

/** A `Name:   123 kB` line of a /proc file, in bytes; NaN when the file or the line is missing. */
function kbField(text: string | undefined, name: string): number {
  return Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text ?? '')?.[1] ?? NaN) * 1024;
}

/** Resident set size now and its high-water mark since the process started, in bytes. */
export function processMemory(pid: number): { rss: number; hwm: number } {
  const status = read(`/proc/${pid}/status`);
  return { rss: kbField(status, 'VmRSS'), hwm: kbField(status, 'VmHWM') };
}

/** The CPUs the kernel lets a process's main thread run on (`Cpus_allowed_list`, e.g. `0-1`); undefined if gone. */
export function processCpus(pid: number): string | undefined {
  return /^Cpus_allowed_list:\s*(\S+)/m.exec(read(`/proc/${pid}/status`) ?? '')?.[1];
}

/**
 * A process's resident memory split by sharing, in bytes: pages only it maps, and pages other processes map too (the
 * Node binary, libvips, the SDK's core: the same files in every worker). Costs about 3 ms for a 300 MB process (the
 * kernel walks its page tables), two hundred times a read of VmRSS.
 */
export function processPages(pid: number): { private: number; shared: number } {
  const rollup = read(`/proc/${pid}/smaps_rollup`);
  const kb = (name: string) => kbField(rollup, name);
  return { private: kb('Private_Clean') + kb('Private_Dirty'), shared: kb('Shared_Clean') + kb('Shared_Dirty') };
}

/**
 * The bytes a sum of the processes' RSS counts more than once: their shared pages beyond those of the one that has
 * the most. Their RSS sum less this is a lower bound of the union of their pages, which the workers (their shared
 * pages are the same files) nearly reach: within 0-5 MB of the union of their page frames read from
 * /proc/<pid>/pagemap (BENCHMARKS.md, fifteenth pass).
 */
export function sharedCountedAgain(pids: number[]): number {
  const shared = pids.map((pid) => processPages(pid).shared);
  return shared.reduce((a, b) => a + b, 0) - Math.max(0, ...shared);
}

/** Busy and total CPU time of the whole machine so far, in seconds (all cores). */
export function machineCpuSeconds(): { busy: number; ioWait: number; total: number } {
  const line = read('/proc/stat')?.split('\n')[0];
  if (!line?.startsWith('cpu ')) return { busy: NaN, ioWait: NaN, total: NaN };
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
  const total = user + nice + system + idle + iowait + irq + softirq + steal;
  return {
    busy: (total - idle - iowait) / TICKS_PER_SECOND,
    ioWait: iowait / TICKS_PER_SECOND,
    total: total / TICKS_PER_SECOND,
  };
}

export interface Watched {
  /** e.g. `worker:filter`, `dev-server`, `monolith`. */
  label: string;
  pid: number;
  /** Counted in the worker RSS figures (the dev server and the benchmark client are not). */
  worker: boolean;
}

export interface ProcessUsage {
  label: string;
  pid: number;
  worker: boolean;
  cpuSeconds: number;
  /** Highest RSS seen while sampling. */
  peakRss: number;
  /** The CPUs it was allowed to run on (`--cpus` binds processes), when known. */
  cpus?: string;
}

export interface Usage {
  seconds: number;
  /** Busy share of all cores over the window, 0..1 (the whole machine, whatever runs on it). */
  machineCpu: number;
  /** Busy share of all cores used by processes not watched here (other programs on the machine), 0..1. */
  otherCpu: number;
  /** Share of all cores idle while waiting for the disk, 0..1. */
  ioWait: number;
  cores: number;
  processes: ProcessUsage[];
  /** Highest sum of the worker processes' RSS seen at one sample. */
  peakWorkerRss: number;
  /** The memory the same processes held together then, shared pages counted once (sharedCountedAgain). */
  workersTogetherAtPeak: number;
  /** Highest RSS of any single worker process. */
  peakWorkerProcessRss: number;
}

/** Samples CPU and RSS of the watched processes every `everyMs` from start() until stop(). */
export class UsageSampler {
  private timer?: NodeJS.Timeout;
  private started = 0;
  private cpuAtStart = new Map<number, number>();
  private machineAtStart = machineCpuSeconds();
  private peaks = new Map<number, number>();
  private peakSum = 0;
  private countedAgain = Infinity;

  constructor(
    private readonly watched: Watched[],
    private readonly everyMs = 100,
  ) {}

  /**
   * The shared pages an RSS sum counts again, read as the measurement starts and ends (a read walks every page table,
   * about 3 ms a process): they are library code, loaded by the warm-up, and hardly change. The smaller reading is
   * kept, so the memory together errs high.
   */
  private readSharedPages(): void {
    const workers = this.watched.filter((w) => w.worker).map((w) => w.pid);
    this.countedAgain = Math.min(this.countedAgain, sharedCountedAgain(workers));
  }

  start(): this {
    this.started = performance.now();
    this.readSharedPages();
    this.machineAtStart = machineCpuSeconds();
    for (const w of this.watched) this.cpuAtStart.set(w.pid, processCpuSeconds(w.pid));
    this.sample();
    this.timer = setInterval(() => this.sample(), this.everyMs);
    return this;
  }

  private sample(): void {
    let sum = 0;
    for (const w of this.watched) {
      const { rss } = processMemory(w.pid);
      if (Number.isNaN(rss)) continue;
      this.peaks.set(w.pid, Math.max(this.peaks.get(w.pid) ?? 0, rss));
      if (w.worker) sum += rss;
    }
    this.peakSum = Math.max(this.peakSum, sum);
  }

  stop(): Usage {
    clearInterval(this.timer);
    this.sample();
    const seconds = (performance.now() - this.started) / 1000;
    const machine = machineCpuSeconds();
    const processes = this.watched.map((w) => ({
      label: w.label,
      pid: w.pid,
      worker: w.worker,
      cpuSeconds: processCpuSeconds(w.pid) - (this.cpuAtStart.get(w.pid) ?? NaN),
      peakRss: this.peaks.get(w.pid) ?? NaN,
      cpus: processCpus(w.pid),
    }));
    const workerPeaks = processes.filter((p) => p.worker).map((p) => p.peakRss);
    this.readSharedPages(); // after the CPU readings: its page-table walks are the sampler's, not the run's
    const busy = machine.busy - this.machineAtStart.busy;
    const total = machine.total - this.machineAtStart.total;
    const watchedBusy = processes.reduce((sum, p) => sum + (Number.isNaN(p.cpuSeconds) ? 0 : p.cpuSeconds), 0);
    return {
      seconds,
      machineCpu: busy / total,
      otherCpu: Math.max(0, busy - watchedBusy) / total,
      ioWait: (machine.ioWait - this.machineAtStart.ioWait) / total,
      cores: os.cpus().length,
      processes,
      peakWorkerRss: this.peakSum,
      workersTogetherAtPeak: this.peakSum - this.countedAgain,
      peakWorkerProcessRss: workerPeaks.length ? Math.max(...workerPeaks) : NaN,
    };
  }
}
