import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { describe, it } from 'node:test';
import { cpusFor, describePins, parseCpuPins, pinProcess } from '../src/bench/cpu-pinning';
import { parseOptions } from '../src/bench/options';
import { processCpus } from '../src/bench/procfs';

/** `npm run bench -- --cpus GROUP=LIST`: parsing, which process gets which CPUs, and a real binding. */

/** The CPUs each thread of `pid` may run on, as the kernel reports them. */
function allowedCpus(pid: number): string[] {
  return readdirSync(`/proc/${pid}/task`).map(
    (tid) => readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8').match(/^Cpus_allowed_list:\s*(\S+)/m)![1],
  );
}

describe('--cpus', () => {
  it('reads groups and taskset lists, within the CPUs the machine has', () => {
    assert.deepEqual(parseCpuPins(['server=0', 'workers=1-3', 'filter=2,3'], 4), {
      server: '0',
      workers: '1-3',
      filter: '2,3',
    });
  });

  it('refuses an unknown group, naming the groups it takes', () => {
    assert.throws(
      () => parseCpuPins(['database=0'], 2),
      /--cpus: expected GROUP=LIST with GROUP one of server, workers, workflow, upload, filter, share, received database=0/,
    );
  });

  for (const list of ['', '2', '1-0', 'a', '0,,1', '-1']) {
    it(`refuses the list '${list}' on a 2-CPU machine, naming the range`, () => {
      assert.throws(
        () => parseCpuPins([`server=${list}`], 2),
        new RegExp(
          `--cpus server: expected a list of CPUs between 0 and 1 \\(e\\.g\\. 0, 0-1 or 0,1\\), received '${list}'`,
        ),
      );
    });
  }

  it("gives a one-service worker its service's CPUs, any other worker the workers' and the server its own", () => {
    const pins = parseCpuPins(['server=0', 'workers=1', 'workflow=0'], 2);
    assert.equal(cpusFor(pins, 'server'), '0');
    assert.equal(cpusFor(pins, ['workflow']), '0');
    assert.equal(cpusFor(pins, ['filter']), '1');
    assert.equal(cpusFor(pins, ['workflow', 'upload', 'filter', 'share']), '1');
    assert.equal(cpusFor(pins, []), '1');
    assert.equal(cpusFor({ workflow: '0' }, ['filter']), undefined);
    assert.equal(describePins(pins), 'server 0; workers 1; workflow 0');
  });

  it('is refused with the cluster modes', () => {
    assert.throws(
      () => parseOptions(['--cpus', 'server=0', '--cluster']),
      /--cpus: expected no cluster modes with it \(PostgreSQL's backends would not be bound\), received nano-cluster, ceiling-cluster/,
    );
    assert.deepEqual((parseOptions(['--cpus', 'server=0', '--quick']) as { cpus: object }).cpus, { server: '0' });
  });

  it('binds every thread of a running process, and the threads it starts afterwards', async () => {
    const last = String(os.cpus().length - 1);
    // A Node process that starts a worker thread when told to (after the binding), then reports it runs.
    const child = spawn(
      process.execPath,
      [
        '-e',
        `process.stdin.once('data', () => {
           const { Worker } = require('node:worker_threads');
           new Worker('setInterval(() => {}, 1000)', { eval: true }).on('online', () => console.log('started'));
         });
         console.log('ready');`,
      ],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    try {
      const lines: string[] = [];
      const line = (text: string) =>
        new Promise<void>((resolve, reject) => {
          const check = () => lines.join('').includes(text) && resolve();
          child.stdout!.on('data', (chunk: Buffer) => {
            lines.push(chunk.toString());
            check();
          });
          child.once('exit', (code) => reject(new Error(`the child exited (${code}) before printing ${text}`)));
          check();
        });
      await line('ready');
      const before = allowedCpus(child.pid!).length;
      pinProcess(child.pid!, last);
      assert.deepEqual(new Set(allowedCpus(child.pid!)), new Set([last]));
      assert.equal(processCpus(child.pid!), last, "the benchmark's sampler reads the binding back");
      child.stdin!.write('go\n');
      await line('started');
      const threads = allowedCpus(child.pid!);
      assert.ok(threads.length > before, `the worker thread added threads (${before} → ${threads.length})`);
      assert.deepEqual(new Set(threads), new Set([last]));
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('says which process it could not bind', () => {
    assert.throws(() => pinProcess(2 ** 22 + 1, '0'), /--cpus: could not bind process 4194305 to CPUs 0 with taskset/);
  });
});
