import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { projectRoot } from '../src/lib/project-root';

interface Thread {
  name: string;
  main: boolean;
  nice: number;
  policy: number;
}

const SCHED_OTHER = 0;
const SCHED_IDLE = 5;

/** Runs test/support/print-thread-priorities.ts for `services` with `env` added; returns its threads and warnings. */
async function threadsOf(services: string, env: Record<string, string> = {}) {
  const { stdout, stderr } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', 'test/support/print-thread-priorities.ts', services],
    { cwd: projectRoot, env: { ...process.env, NANO_PHOTOS_IMAGE_PRIORITY: '', ...env } },
  );
  const threads = JSON.parse(stdout) as Thread[];
  assert.ok(
    threads.some((t) => t.name === 'libvips worker'),
    'libvips started its threads',
  );
  return { threads, stderr };
}

const describeLinux = process.platform === 'linux' ? describe : describe.skip;

describeLinux('image work yields the cores to orchestration (NANO_PHOTOS_IMAGE_PRIORITY)', () => {
  const fakeBin = mkdtempSync(path.join(os.tmpdir(), 'nano-photos-chrt-'));
  after(() => rmSync(fakeBin, { recursive: true, force: true }));

  it('by default an image-only worker runs every thread at SCHED_IDLE', async () => {
    const { threads } = await threadsOf('filter');
    assert.deepEqual(
      threads.filter((t) => t.policy !== SCHED_IDLE),
      [],
    );
  });

  it("a worker that also runs workflows lowers only libvips' threads and libuv's pool", async () => {
    const { threads } = await threadsOf('workflow,filter');
    const image = (t: Thread) => t.name === 'libvips worker' || t.name === 'libuv-worker';
    // Node names the pool's threads from version 22 on (under Node 20 they are "node", and stay as they are).
    if (Number(process.versions.node.split('.')[0]) >= 22) {
      assert.ok(
        threads.some((t) => t.name === 'libuv-worker'),
        "libuv's pool is named",
      );
    }
    assert.deepEqual(
      threads.filter((t) => image(t) && t.policy !== SCHED_IDLE),
      [],
    );
    assert.deepEqual(
      threads.filter((t) => !image(t) && (t.policy !== SCHED_OTHER || t.nice !== 0)),
      [],
    );
  });

  it('a worker without image services is left as it was', async () => {
    const { threads } = await threadsOf('share');
    assert.deepEqual(
      threads.filter((t) => t.policy !== SCHED_OTHER || t.nice !== 0),
      [],
    );
  });

  it('nice: nice 10 for every thread of an image-only worker', async () => {
    const { threads } = await threadsOf('upload', { NANO_PHOTOS_IMAGE_PRIORITY: 'nice' });
    assert.deepEqual(
      threads.filter((t) => t.policy !== SCHED_OTHER || t.nice !== 10),
      [],
    );
  });

  it('normal: leaves every thread as it was', async () => {
    const { threads } = await threadsOf('filter', { NANO_PHOTOS_IMAGE_PRIORITY: 'normal' });
    assert.deepEqual(
      threads.filter((t) => t.policy !== SCHED_OTHER || t.nice !== 0),
      [],
    );
  });

  it('falls back to nice 10, with a warning, where SCHED_IDLE is refused', async () => {
    const chrt = path.join(fakeBin, 'chrt');
    writeFileSync(chrt, '#!/bin/sh\necho "chrt: failed to set pid policy: Operation not permitted" >&2\nexit 1\n');
    chmodSync(chrt, 0o755);
    const { threads, stderr } = await threadsOf('filter', { PATH: `${fakeBin}:${process.env.PATH}` });
    assert.deepEqual(
      threads.filter((t) => t.policy !== SCHED_OTHER || t.nice !== 10),
      [],
    );
    assert.match(stderr, /chrt --idle failed \(.*Operation not permitted\); using nice 10/);
  });

  it('refuses an unknown value, naming the setting, the choices and the value', async () => {
    await assert.rejects(
      threadsOf('filter', { NANO_PHOTOS_IMAGE_PRIORITY: 'low' }),
      /NANO_PHOTOS_IMAGE_PRIORITY: expected one of idle, nice, normal, received "low"/,
    );
  });
});
