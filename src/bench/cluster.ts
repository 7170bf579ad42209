import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { startDevServer, type DevServer } from '../lib/dev-server';
import { projectRoot } from '../lib/project-root';
import { freePort } from '../lib/free-port';
import type { ServiceName } from '../common/task-queues';

/**
 * The processes a benchmark mode runs on: a Temporal dev server on a free port and worker processes started as
 * `npm run worker` starts them. Everything is tracked by process id and stopped by it, also when a mode fails or
 * the benchmark is interrupted.
 */

export interface Child {
  label: string;
  pid: number;
  process: ChildProcess;
  exited: Promise<void>;
  /** SIGTERM (workers finish what they run), SIGKILL after `graceMs`; resolves once the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

const running = new Set<Child>();

/** Last resort when the benchmark exits abnormally: kill what is still running, by pid. */
process.on('exit', () => {
  for (const child of running) {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

function track(label: string, proc: ChildProcess): Child {
  const exited = new Promise<void>((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) resolve();
    else proc.once('exit', () => resolve());
  });
  const child: Child = {
    label,
    pid: proc.pid!,
    process: proc,
    exited,
    async stop(graceMs = 35_000) {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      }
      running.delete(child);
    },
  };
  running.add(child);
  void exited.then(() => running.delete(child));
  return child;
}

/**
 * The environment `npm run worker` sets before starting a worker (`NAME=value` words in front of the command in
 * package.json), so the benchmark measures the shipped defaults.
 */
export function workerScriptEnv(): Record<string, string> {
  const pkg = JSON.parse(readFileSync(path.join(projectRoot, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  };
  const env: Record<string, string> = {};
  for (const word of (pkg.scripts.worker ?? '').split(/\s+/)) {
    const match = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(word);
    if (!match) break;
    env[match[1]] = match[2];
  }
  return env;
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
  /** Resolve once a line of stdout matches; otherwise at once. */
  readyLine?: RegExp;
  ipc?: boolean;
  readyTimeoutMs?: number;
}

/**
 * Starts <entry> as `npm run worker` does (src/bin/run-node.sh: compiled JavaScript when `npm run build` is newer than
 * the sources, else tsx) in the project folder, with the worker script's environment and this process's node.
 */
export async function startNodeProcess(o: NodeProcessOptions): Promise<Child> {
  const log = openSync(o.logFile, 'a');
  const proc = spawn(RUN_NODE, [o.entry, ...(o.args ?? [])], {
    cwd: projectRoot,
    env: {
      ...cleanEnv(),
      ...workerScriptEnv(),
      ...o.env,
      PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ''}`,
    },
    stdio: ['ignore', 'pipe', log, ...(o.ipc ? (['ipc'] as const) : [])],
  });
  closeSync(log);
  const child = track(o.label, proc);
  let output = '';
  proc.stdout!.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    if (output.length > 100_000) output = output.slice(-50_000);
  });
  if (!o.readyLine) return child;
  const deadline = Date.now() + (o.readyTimeoutMs ?? 120_000);
  while (!o.readyLine.test(output)) {
    if (proc.exitCode !== null || proc.signalCode !== null) {
      throw new Error(
        `${o.label} exited (${proc.exitCode ?? proc.signalCode}) before it was ready; see ${o.logFile}\n${output}`,
      );
    }
    if (Date.now() > deadline) {
      await child.stop(0);
      throw new Error(`${o.label} was not ready within ${(o.readyTimeoutMs ?? 120_000) / 1000} s; see ${o.logFile}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
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
  const server = await startDevServer({ ip: '127.0.0.1', port: await freePort(), uiPort: false, dbFile, logFile: log });
  closeSync(log);
  const child = track('dev-server', server.process);
  return { address: server.address, server, child };
}

/** Stops every process started here that still runs, in reverse order of start. */
export async function stopAll(): Promise<void> {
  for (const child of [...running].reverse()) await child.stop();
}
