import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { SERVICE_NAMES, type ServiceName } from '../common/task-queues';

/**
 * `--cpus GROUP=LIST`: which CPUs the benchmark's processes may use (Linux, taskset). With the Temporal server on
 * CPUs of its own, as on hosts of its own, the monolith and the nano-services' workers compare on the same CPUs with
 * the server's work taken out of the way.
 * - `server`: the Temporal dev server, the S3 server and this benchmark's own process (the client);
 * - `workers`: the monolith and every worker process (the ceilings' no-op workers too);
 * - a service (`workflow`, `upload`, `filter`, `share`): that service's own worker process, instead of `workers`.
 */
export const CPU_GROUPS = ['server', 'workers', ...SERVICE_NAMES] as const;
export type CpuGroup = (typeof CPU_GROUPS)[number];
export type CpuPins = Partial<Record<CpuGroup, string>>;

/** Parses `GROUP=LIST` items; LIST as taskset takes it (0, 0-1, 0,2), naming only CPUs this machine has. */
export function parseCpuPins(items: readonly string[], cpuCount = os.cpus().length): CpuPins {
  const pins: CpuPins = {};
  for (const item of items) {
    const [group, list = ''] = item.split('=', 2);
    if (!CPU_GROUPS.includes(group as CpuGroup)) {
      throw new Error(`--cpus: expected GROUP=LIST with GROUP one of ${CPU_GROUPS.join(', ')}, received ${item}`);
    }
    const ranges = list.split(',').map((part) => part.match(/^(\d+)(?:-(\d+))?$/));
    const valid = ranges.every((r) => r && Number(r[1]) <= Number(r[2] ?? r[1]) && Number(r[2] ?? r[1]) < cpuCount);
    if (!list || !valid) {
      throw new Error(
        `--cpus ${group}: expected a list of CPUs between 0 and ${cpuCount - 1} (e.g. 0, 0-1 or 0,1), received '${list}'`,
      );
    }
    pins[group as CpuGroup] = list;
  }
  return pins;
}

/**
 * The CPUs of `who`: 'server' (Temporal's, the S3 server, the benchmark client), or the services a worker process
 * serves (none: the monolith or a benchmark worker); undefined when not pinned.
 */
export function cpusFor(pins: CpuPins, who: 'server' | readonly ServiceName[]): string | undefined {
  if (who === 'server') return pins.server;
  return (who.length === 1 ? pins[who[0]] : undefined) ?? pins.workers;
}

/** Binds every thread of process `pid` to `cpus`; threads it starts later inherit the binding. */
export function pinProcess(pid: number, cpus: string): void {
  const result = spawnSync('taskset', ['--all-tasks', '--cpu-list', '--pid', cpus, String(pid)], { encoding: 'utf8' });
  // With --all-tasks, taskset says nothing and exits 0 for a process that is gone: its report is the proof.
  if (result.status !== 0 || !result.stdout.includes('new affinity list')) {
    const why = result.error?.message ?? (result.stderr.trim() || 'no such process');
    throw new Error(`--cpus: could not bind process ${pid} to CPUs ${cpus} with taskset (util-linux): ${why}`);
  }
}

/** For the report: e.g. `server 0; workers 1; workflow 0`. */
export function describePins(pins: CpuPins): string {
  return CPU_GROUPS.filter((g) => pins[g] !== undefined)
    .map((g) => `${g} ${pins[g]}`)
    .join('; ');
}
