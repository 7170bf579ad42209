import { closeSync, openSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { killOnExit, startChild, waitForOutput, type Child } from '../lib/child-processes';
import { startDevServer, type DevServer } from '../lib/dev-server';
import { projectRoot } from '../lib/project-root';
import { freePort } from '../lib/free-port';
import type { ServiceName } from '../common/task-queues';
import { cpusFor, pinProcess, type CpuPins } from './cpu-pinning';

/**
 * The processes a benchmark mode runs on: a Temporal dev server on a free port and worker processes started as
 * `npm run worker` starts them. Everything is tracked by process id and stopped by it, also when a mode fails or
 * the benchmark is interrupted.
 */

/** Workers get this long to finish what they run after SIGTERM (their own shutdown grace), then SIGKILL. */
const WORKER_GRACE_MS = 35_000;

const running = new Set<Child>();

/** Where processes started from now on run (--cpus); none: anywhere. */
let pins: CpuPins = {};

/** Binds the processes started from now on, and this one, to the CPUs `cpuPins` gives them (--cpus). */
export function useCpus(cpuPins: CpuPins): void {
  pins = cpuPins;
  pinAsServer(process.pid);
}

/** Binds a server's process (Temporal's, the S3 server's) to the server's CPUs, if --cpus names them. */
export function pinAsServer(pid: number): void {
  const cpus = cpusFor(pins, 'server');
  if (cpus) pinProcess(pid, cpus);
}

/** The memory allocator settings of the first process started here (src/bin/run-node.sh chooses them). */
let allocatorSettings: string | undefined;

/**
 * The allocator the benchmark's workers ran with, as their environment says: LD_PRELOAD and the MALLOC_ variables
 * run-node.sh exported (jemalloc or glibc, BENCHMARKS.md), or the extra settings given with --worker-env.
 */
export function workerAllocator(): string {
  return allocatorSettings ?? '(no worker process started)';
}

function readAllocatorSettings(pid: number): string {
  const vars = readFileSync(`/proc/${pid}/environ`, 'utf8')
    .split('\0')
    .filter((v) => /^(LD_PRELOAD|MALLOC_[A-Z_]*)=/.test(v));
  return vars.join(' ') || 'glibc defaults';
}

/** The parent's environment without settings that would point a worker at another server or data folder. */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.startsWith('TEMPORAL_') && !key.startsWith('NANO_PHOTOS_')),
  );
}

const RUN_NODE = path.join(projectRoot, 'src', 'bin', 'run-node.sh');

export interface NodeProcessOptions {
  label: string;
  /** An entry point of this project, e.g. `src/bin/worker.ts`: compiled when built, else through tsx (run-node.sh). */
  entry: string;
  args?: string[];
  env?: Record<string, string>;
  logFile: string;
  /** The worker services it runs, for --cpus (none: the monolith or a benchmark worker, `workers`). */
  services?: readonly ServiceName[];
  /** Resolve once a line of stdout matches; otherwise at once. */
  readyLine?: RegExp;
  ipc?: boolean;
  readyTimeoutMs?: number;
}

/**
 * Starts <entry> as `npm run worker` does (src/bin/run-node.sh: compiled JavaScript when `npm run build` is newer than
 * the sources, else tsx; the allocator it picks) in the project folder, with this process's node.
 */
export async function startNodeProcess(o: NodeProcessOptions): Promise<Child> {
  const child = track(
    startChild({
      name: o.label,
      command: RUN_NODE,
      args: [o.entry, ...(o.args ?? [])],
      cwd: projectRoot,
      env: {
        ...cleanEnv(),
        ...o.env,
        PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ''}`,
      },
      logFile: o.logFile,
      ipc: o.ipc,
      stopGraceMs: WORKER_GRACE_MS,
    }),
  );
  // Bound as it starts (run-node.sh's shell, or Node if it got that far): every thread it has, and those it starts
  // later inherit the binding.
  const cpus = cpusFor(pins, o.services ?? []);
  if (cpus) pinProcess(child.pid, cpus);
  if (o.readyLine) await waitForOutput(child, o.readyLine, { timeoutMs: o.readyTimeoutMs ?? 120_000 });
  if (o.readyLine && allocatorSettings === undefined) allocatorSettings = readAllocatorSettings(child.pid);
  return child;
}

export interface WorkerGroup {
  /** e.g. `workflow` or `upload,filter,share`. */
  services: readonly ServiceName[];
  /** --concurrency for this process (all its services); the workers' defaults when absent. */
  concurrency?: number;
}

export function startWorker(
  group: WorkerGroup,
  address: string,
  dataDir: string,
  logFile: string,
  env: Record<string, string> = {},
): Promise<Child> {
  const args = ['--services', group.services.join(',')];
  if (group.concurrency !== undefined) args.push('--concurrency', String(group.concurrency));
  return startNodeProcess({
    label: `worker:${group.services.join('+')}`,
    entry: 'src/bin/worker.ts',
    services: group.services,
    args,
    env: { TEMPORAL_ADDRESS: address, TEMPORAL_NAMESPACE: 'default', NANO_PHOTOS_DATA_DIR: dataDir, ...env },
    logFile,
    readyLine: /serving/,
  });
}

export interface ServerHandle {
  address: string;
  server: DevServer;
  child: Child;
}

/** A dev server as `npm run server` runs it (its SQLite settings), headless, on a free port, with its own database. */
export async function startServer(dbFile: string | undefined, logFile: string): Promise<ServerHandle> {
  const log = openSync(logFile, 'a');
  try {
    const server = await startDevServer({
      ip: '127.0.0.1',
      port: await freePort(),
      uiPort: false,
      dbFile,
      logFile: log,
    });
    pinAsServer(server.child.pid);
    return { address: server.address, server, child: track(server.child) };
  } finally {
    closeSync(log); // the server holds its own copy
  }
}

/** Stops every process started here that still runs, in reverse order of start. */
export async function stopAll(): Promise<void> {
  for (const child of [...running].reverse()) await child.stop();
}

/** Remembered for stopAll() until it exits, and killed by pid if the benchmark exits abnormally. */
function track(child: Child): Child {
  killOnExit(child);
  running.add(child);
  void child.exited.then(() => running.delete(child));
  return child;
}
