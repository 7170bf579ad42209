import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';

export interface ManagedProcess {
  name: string;
  pid: number;
  /** Settles when the process has exited. */
  exited: Promise<void>;
  running(): boolean;
  /** Sends `signal` to this process id; SIGKILL if it still runs after `graceMs`. Resolves once it has exited. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<void>;
}

export interface StartOptions {
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  /** stdout and stderr are appended here: a cluster's logs outlive its processes. */
  logFile: string;
  /** Run as this user (PostgreSQL refuses to run as root). */
  user?: { uid: number; gid: number };
}

/** Spawns one long-running server process that is tracked, and stopped, by its own process id only. */
export function startProcess(o: StartOptions): ManagedProcess {
  const log = openSync(o.logFile, 'a');
  let child;
  try {
    child = spawn(o.command, o.args, {
      env: o.env ?? process.env,
      stdio: ['ignore', log, log],
      ...(o.user ? { uid: o.user.uid, gid: o.user.gid } : {}),
    });
  } finally {
    closeSync(log); // the child holds its own copy
  }
  if (child.pid === undefined) throw new Error(`${o.name}: could not start ${o.command}`);
  const pid = child.pid;
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const running = () => child.exitCode === null && child.signalCode === null;
  return {
    name: o.name,
    pid,
    exited,
    running,
    async stop(signal = 'SIGTERM', graceMs = 20_000) {
      if (!running()) return;
      process.kill(pid, signal);
      const timer = setTimeout(() => running() && process.kill(pid, 'SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Polls `check` until it is true; fails early if `process` exits, and after `timeoutMs`. */
export async function waitUntil(
  what: string,
  proc: ManagedProcess,
  check: () => Promise<boolean>,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (!proc.running()) throw new Error(`${proc.name} exited before ${what}`);
    if (Date.now() > deadline) throw new Error(`${proc.name}: timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
