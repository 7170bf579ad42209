import { createHash } from 'node:crypto';
import { appendFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { markPoint, testMarkersEnabled } from './test-markers';

/** What a write in progress is called; a process killed mid-write leaves one behind. */
export const PARTIAL_SUFFIX = '.partial';

/**
 * Partial files are named `<file>.<host>-<pid>-<n>.partial`: the writer's host (a short hash of its name), its
 * process id and a counter, unique among the writes in flight. Short, so that names near the file system's limit
 * still fit; enough to tell later whether the writer is still alive.
 */
const HOST = createHash('sha256').update(os.hostname()).digest('hex').slice(0, 6);
const PARTIAL = /^(.*)\.([0-9a-f]{6})-(\d+)-[0-9a-z]+\.partial$/;
let writes = 0;

/** The partial file of the `n`th write of `file` by process `pid` on this machine. */
export function partialName(file: string, pid: number, n: number): string {
  return `${file}.${HOST}-${pid}-${n.toString(36)}${PARTIAL_SUFFIX}`;
}

/** Whether a process of this id runs on this machine (a zombie counts as running: it has not been reaped yet). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the partial files of `file` whose writer was a process on this machine that is gone: a worker killed
 * mid-write. A live writer's partial, or one from another machine sharing the folder, is never touched.
 */
export async function sweepDeadPartials(file: string): Promise<string[]> {
  const base = path.basename(file);
  const dead = (await readdir(path.dirname(file))).filter((name) => {
    const m = PARTIAL.exec(name);
    return m !== null && m[1] === base && m[2] === HOST && Number(m[3]) !== process.pid && !alive(Number(m[3]));
  });
  await Promise.all(dead.map((name) => rm(path.join(path.dirname(file), name), { force: true })));
  return dead;
}

/**
 * Readers (browsers, other workers) see the old file or the new one, never half of one. After the rename, the
 * partials a killed writer left for the same file are swept away: its retry, or the next write, cleans up.
 */
export async function writeAtomic(file: string, data: string | Buffer): Promise<void> {
  const partial = partialName(file, process.pid, writes++);
  try {
    if (testMarkersEnabled()) await writeInHalves(partial, Buffer.from(data));
    else await writeFile(partial, data);
    await rename(partial, file);
  } catch (err) {
    await rm(partial, { force: true });
    throw err;
  }
  // Best effort: the file is written; a failed clean-up is retried by the next write of it.
  await sweepDeadPartials(file).catch(() => undefined);
}

/** Crash tests: the file half written, a marker saying so (and maybe a hold until killed), then the rest. */
async function writeInHalves(partial: string, data: Buffer): Promise<void> {
  const half = Math.floor(data.length / 2);
  await writeFile(partial, data.subarray(0, half));
  await markPoint('store-write', { partial, written: half, bytes: data.length });
  await appendFile(partial, data.subarray(half));
}
