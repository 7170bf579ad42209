import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import ts from 'typescript';
import { projectRoot } from '../src/lib/project-root';

interface Thread {
  name: string;
  main: boolean;
  /** Counted in libuv's pool by the census (src/lib/process-tuning.ts). */
  pool: boolean;
  /** The image thread, when the helper started one. */
  image: boolean;
  nice: number;
  policy: number;
}

const SCHED_OTHER = 0;
const SCHED_IDLE = 5;

/**
 * The helper and the module it tests as compiled JavaScript, as `npm run build` makes them: under tsx, libuv's pool
 * would have started before any project module loads, and the census would find nothing.
 */
function compileHelper(dir: string): string {
  for (const file of ['test/support/print-thread-priorities.ts', 'src/lib/process-tuning.ts']) {
    const { outputText } = ts.transpileModule(readFileSync(path.join(projectRoot, file), 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
    });
    const compiled = path.join(dir, file.replace(/\.ts$/, '.js'));
    mkdirSync(path.dirname(compiled), { recursive: true });
    writeFileSync(compiled, outputText);
  }
  return path.join(dir, 'test/support/print-thread-priorities.js');
}

/** Runs the helper for `services` with `env` added; returns its threads and warnings. */
async function threadsOf(helper: string, services: string, env: Record<string, string> = {}, extra: string[] = []) {
  // libuv's default pool of 4 threads, whatever this process was given.
  const { UV_THREADPOOL_SIZE: _, ...inherited } = process.env;
  const { stdout, stderr } = await promisify(execFile)(process.execPath, [helper, services, ...extra], {
    cwd: projectRoot,
    env: {
      ...inherited,
      NODE_PATH: path.join(projectRoot, 'node_modules'),
      NANO_PHOTOS_IMAGE_PRIORITY: '',
      ...env,
    },
  });
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
  const build = mkdtempSync(path.join(os.tmpdir(), 'nano-photos-priority-'));
  const helper = compileHelper(build);
  after(() => {
    rmSync(fakeBin, { recursive: true, force: true });
    rmSync(build, { recursive: true, force: true });
  });

  it('by default an image-only worker runs every thread at SCHED_IDLE', async () => {
    const { threads } = await threadsOf(helper, 'filter');
    assert.deepEqual(
      threads.filter((t) => t.policy !== SCHED_IDLE),
      [],
    );
  });

  it("a worker that also runs workflows lowers only libvips' threads and libuv's pool", async () => {
    const { threads } = await threadsOf(helper, 'workflow,filter');
    // The census found libuv's pool: its 4 threads, none of them the main one. Node names them from version 22 on
    // (under Node 20 they are "node", like V8's helpers): there the names must agree with the census.
    const pool = threads.filter((t) => t.pool);
    assert.equal(pool.length, 4, `libuv's pool of 4 threads, found ${JSON.stringify(pool)}`);
    assert.ok(!pool.some((t) => t.main));
    if (Number(process.versions.node.split('.')[0]) >= 22) {
      assert.deepEqual(
        threads.filter((t) => t.pool !== (t.name === 'libuv-worker')),
        [],
      );
    }
    const image = (t: Thread) => t.name === 'libvips worker' || t.pool;
    assert.deepEqual(
      threads.filter((t) => image(t) && t.policy !== SCHED_IDLE),
      [],
    );
    assert.deepEqual(
      threads.filter((t) => !image(t) && (t.policy !== SCHED_OTHER || t.nice !== 0)),
      [],
    );
  });

  it('an image thread (src/lib/image-thread.ts) lowers itself; the main thread stays as it was', async () => {
    const { threads } = await threadsOf(helper, 'workflow,upload,filter,share', {}, ['image-thread']);
    const [image] = threads.filter((t) => t.image);
    assert.equal(image?.policy, SCHED_IDLE, JSON.stringify(threads));
    const main = threads.find((t) => t.main)!;
    assert.deepEqual([main.policy, main.nice], [SCHED_OTHER, 0]);
  });

  it('nice: an image thread takes nice 10', async () => {
    const env = { NANO_PHOTOS_IMAGE_PRIORITY: 'nice' };
    const { threads } = await threadsOf(helper, 'workflow,upload,filter,share', env, ['image-thread']);
    const [image] = threads.filter((t) => t.image);
    assert.deepEqual([image?.policy, image?.nice], [SCHED_OTHER, 10]);
  });

  it('a worker without image services is left as it was', async () => {
    const { threads } = await threadsOf(helper, 'share');
    assert.deepEqual(
      threads.filter((t) => t.policy !== SCHED_OTHER || t.nice !== 0),
      [],
    );
  });

  it('nice: nice 10 for every thread of an image-only worker', async () => {
    const { threads } = await threadsOf(helper, 'upload', { NANO_PHOTOS_IMAGE_PRIORITY: 'nice' });
    assert.deepEqual(
      threads.filter((t) => t.policy !== SCHED_OTHER || t.nice !== 10),
      [],
    );
  });

  it('normal: leaves every thread as it was', async () => {
    const { threads } = await threadsOf(helper, 'filter', { NANO_PHOTOS_IMAGE_PRIORITY: 'normal' });
    assert.deepEqual(
      threads.filter((t) => t.policy !== SCHED_OTHER || t.nice !== 0),
      [],
    );
  });

  it('falls back to nice 10, with a warning, where SCHED_IDLE is refused', async () => {
    const chrt = path.join(fakeBin, 'chrt');
    writeFileSync(chrt, '#!/bin/sh\necho "chrt: failed to set pid policy: Operation not permitted" >&2\nexit 1\n');
    chmodSync(chrt, 0o755);
    const { threads, stderr } = await threadsOf(helper, 'filter', { PATH: `${fakeBin}:${process.env.PATH}` });
    assert.deepEqual(
      threads.filter((t) => t.policy !== SCHED_OTHER || t.nice !== 10),
      [],
    );
    assert.match(stderr, /chrt --idle failed \(.*Operation not permitted\); using nice 10/);
  });

  it('refuses an unknown value, naming the setting, the choices and the value', async () => {
    await assert.rejects(
      threadsOf(helper, 'filter', { NANO_PHOTOS_IMAGE_PRIORITY: 'low' }),
      /NANO_PHOTOS_IMAGE_PRIORITY: expected one of idle, nice, normal, received "low"/,
    );
  });
});
