import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { freeLowPort } from '../../src/cluster/ports';
import { serverAnswers } from '../../src/lib/connection';
import { projectRoot } from '../../src/lib/project-root';
import { waitFor } from '../support/processes';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** `npm run cluster` as a user runs it: starts, prints the addresses, and Ctrl-C (SIGINT) stops every process. */
describe('npm run cluster', { timeout: 5 * 60_000 }, () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nano-photos-cluster-cmd-'));
  chmodSync(dir, 0o755); // PostgreSQL's unprivileged user must reach its folder
  const pids = new Set<number>();
  after(() => {
    for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  async function runOnce(): Promise<{ output: string; started: number[] }> {
    const [port, uiPort, metricsPort] = [await freeLowPort(), await freeLowPort(), await freeLowPort()];
    const args = ['--import', 'tsx', 'src/bin/cluster.ts', '--dir', dir, '--port', String(port)];
    args.push('--ui-port', String(uiPort), '--metrics-port', String(metricsPort));
    const child = spawn(process.execPath, args, { cwd: projectRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    pids.add(child.pid!);
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await waitFor('the cluster to be ready', () => output.includes('Press Ctrl-C to stop.'), { timeoutMs: 120_000 });
    const started = [...output.matchAll(/\(pid (\d+)/g)].map((m) => Number(m[1]));
    for (const pid of started) pids.add(pid);
    assert.equal(started.length, 3, `PostgreSQL, the server and the UI report their pids:\n${output}`);
    assert.ok(output.includes(`127.0.0.1:${port}`) && output.includes(`http://127.0.0.1:${uiPort}`), output);
    assert.ok(await serverAnswers(`127.0.0.1:${port}`), 'the frontend answers');
    assert.equal((await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).status, 200, 'the metrics endpoint answers');

    child.kill('SIGINT');
    assert.equal(await exited, 0, output);
    for (const pid of started) assert.ok(!alive(pid), `pid ${pid} stopped:\n${output}`);
    return { output, started };
  }

  it('starts PostgreSQL, the server and the Web UI, and Ctrl-C stops all three', async () => {
    const { output } = await runOnce();
    assert.match(output, /Creating a PostgreSQL database cluster/);
  });

  it('reuses the data folder on a second start', async () => {
    const { output } = await runOnce();
    assert.doesNotMatch(output, /Creating a PostgreSQL database cluster/);
  });
});
