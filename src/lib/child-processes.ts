import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { closeSync, openSync, readSync, statSync, writeSync } from 'node:fs';

/**
 * The one way this project starts, watches and stops the processes it runs (Temporal, PostgreSQL, versitygw,
 * workers, a Bluesky network). Each child is held by the process id it was given and only that id is ever
 * signalled — never a name, never a process it did not start. Its output's tail is kept for error messages,
 * readiness is awaited with the child's exit as an early failure, and a failed start kills what it started.
 */

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** How much of a child's output is kept for error messages and readiness checks. */
const OUTPUT_LIMIT = 64 * 1024;

export interface ChildOptions {
  /** For messages, e.g. `PostgreSQL` or `worker[filter]`. */
  name: string;
  command: string;
  args?: readonly string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /**
   * Where stdout and stderr go:
   * - `keep` (default): read here, the tail kept for `output()`, and appended to `logFile` when one is given;
   * - `file`: `logFile`, written by the child itself, so a server's log does not depend on this process reading it
   *   (`output()` reads the file's tail);
   * - an open file descriptor the child writes to; `inherit`; `ignore`.
   */
  output?: 'keep' | 'file' | 'inherit' | 'ignore' | number;
  logFile?: string;
  /** Each piece of output as it arrives (`keep` only): a live echo for debugging. */
  onOutput?: (text: string) => void;
  /**
   * Its own process group: a Ctrl-C in the terminal then reaches only this process, which stops its children itself
   * and in order. Signals still go to the child's pid alone.
   */
  ownProcessGroup?: boolean;
  /** Run as this user (PostgreSQL refuses to run as root). */
  user?: { uid: number; gid: number };
  /** An IPC channel (`process.send`) to a Node child. */
  ipc?: boolean;
  /** SIGKILL it, by pid, if this process exits while it still runs. */
  killOnExit?: boolean;
  /** How long `stop()` waits after its first signal before SIGKILL (default 20 s). */
  stopGraceMs?: number;
}

export interface Child {
  name: string;
  pid: number;
  process: ChildProcess;
  logFile?: string;
  /** Settles when the process has exited, with its exit code or the signal that ended it. */
  exited: Promise<Exit>;
  running(): boolean;
  /** The tail of its stdout and stderr, interleaved. */
  output(): string;
  /** Sends `signal` to this pid if it still runs and waits until it has exited (no escalation). */
  kill(signal?: NodeJS.Signals): Promise<Exit>;
  /** Sends `signal` (SIGTERM), then SIGKILL if it still runs after `graceMs`; resolves once it has exited. */
  stop(graceMs?: number, signal?: NodeJS.Signals): Promise<void>;
}

/** Starts one child process; see ChildOptions. Throws if it could not be spawned. */
export function startChild(o: ChildOptions): Child {
  const mode = o.output ?? 'keep';
  if (mode === 'file' && !o.logFile) throw new Error(`${o.name}: output 'file' needs a logFile`);
  const log = o.logFile && (mode === 'keep' || mode === 'file') ? openSync(o.logFile, 'a') : undefined;
  const sink = mode === 'keep' ? 'pipe' : mode === 'file' ? log! : mode;
  const stdio: StdioOptions = ['ignore', sink, sink, ...(o.ipc ? (['ipc'] as const) : [])];
  let child: ChildProcess;
  try {
    child = spawn(o.command, o.args ?? [], {
      cwd: o.cwd,
      env: o.env ?? process.env,
      stdio,
      detached: o.ownProcessGroup ?? false,
      ...(o.user ? { uid: o.user.uid, gid: o.user.gid } : {}),
    });
  } catch (err) {
    if (log !== undefined) closeSync(log);
    throw err;
  }
  const exited = new Promise<Exit>((resolve) => {
    // A spawn failure arrives as 'error' without an 'exit'.
    child.once('error', () => resolve({ code: child.exitCode, signal: child.signalCode }));
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  let kept = '';
  if (mode === 'keep') {
    const keep = (chunk: Buffer) => {
      kept = (kept + chunk.toString('utf8')).slice(-OUTPUT_LIMIT);
      if (log !== undefined) writeSync(log, chunk); // the log keeps everything, for a post-mortem
      o.onOutput?.(chunk.toString('utf8'));
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    // After the last output event, not at 'exit' (output may still be buffered then).
    if (log !== undefined) child.once('close', () => closeSync(log));
  } else if (log !== undefined) {
    closeSync(log); // the child holds its own copy
  }
  if (child.pid === undefined) throw new Error(`${o.name}: could not start ${o.command}`);
  const pid = child.pid;
  const running = () => child.exitCode === null && child.signalCode === null;
  const signal = (sig: NodeJS.Signals) => {
    try {
      if (running()) process.kill(pid, sig);
    } catch {
      // exited in the meantime
    }
  };
  const handle: Child = {
    name: o.name,
    pid,
    process: child,
    logFile: o.logFile,
    exited,
    running,
    output: () => (mode === 'file' ? fileTail(o.logFile!) : kept),
    async kill(sig = 'SIGKILL') {
      signal(sig);
      return exited;
    },
    async stop(graceMs = o.stopGraceMs ?? 20_000, first = 'SIGTERM') {
      if (!running()) return;
      signal(first);
      const timer = setTimeout(() => signal('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
  if (o.killOnExit) killOnExit(handle);
  return handle;
}

function fileTail(file: string): string {
  try {
    const size = statSync(file).size;
    const length = Math.min(size, OUTPUT_LIMIT);
    const buffer = Buffer.alloc(length);
    const fd = openSync(file, 'r');
    try {
      readSync(fd, buffer, 0, length, size - length);
    } finally {
      closeSync(fd);
    }
    return buffer.toString('utf8');
  } catch {
    return '';
  }
}

const toKillOnExit = new Set<Child>();

/** SIGKILLs `child` by its pid if this process exits while the child still runs (a last resort after a crash). */
export function killOnExit(child: Child): void {
  if (toKillOnExit.size === 0) process.on('exit', killLeftovers);
  toKillOnExit.add(child);
  void child.exited.then(() => {
    toKillOnExit.delete(child);
    if (toKillOnExit.size === 0) process.removeListener('exit', killLeftovers);
  });
}

function killLeftovers(): void {
  for (const child of toKillOnExit) {
    try {
      if (child.running()) process.kill(child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

export interface ReadyOptions {
  timeoutMs?: number;
  everyMs?: number;
}

/**
 * Polls `check` until it is true; `what` says what it waits for (`waiting for the frontend to answer on …`). Fails early, with the child's output, if the child exits first; after `timeoutMs`
 * otherwise. On any failure (also an error thrown by `check`) the child is SIGKILLed, so a failed start leaves
 * nothing running.
 */
export async function waitUntilReady(
  child: Child,
  what: string,
  check: () => boolean | Promise<boolean>,
  { timeoutMs = 60_000, everyMs = 200 }: ReadyOptions = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  try {
    while (!(await check())) {
      if (!child.running()) {
        const exit = await child.exited;
        throw new Error(`${label(child)} exited (${JSON.stringify(exit)}) before it was ready: ${what}${tail(child)}`);
      }
      if (Date.now() > deadline)
        throw new Error(`${label(child)} was not ready within ${timeoutMs} ms: ${what}${tail(child)}`);
      await new Promise((r) => setTimeout(r, everyMs));
    }
  } catch (err) {
    await child.kill('SIGKILL');
    throw err;
  }
}

/** Waits until the child's output matches `line` (e.g. a worker's `serving` line); see waitUntilReady. */
export function waitForOutput(child: Child, line: RegExp, options: ReadyOptions = {}): Promise<void> {
  return waitUntilReady(child, `waiting for its output to match ${line}`, () => line.test(child.output()), {
    everyMs: 50,
    ...options,
  });
}

function label(child: Child): string {
  return `${child.name} (pid ${child.pid})`;
}

function tail(child: Child): string {
  const output = child.output();
  return `${child.logFile ? ` (log: ${child.logFile})` : ''}${output ? `:\n${output}` : ''}`;
}
