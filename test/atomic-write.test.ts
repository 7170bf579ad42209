import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { partialName, writeAtomic } from '../src/lib/atomic-write';

/** writeAtomic: whole files only, and the partial files of writers that died are cleaned up by the next write. */

let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'nano-photos-atomic-'));
});
after(() => rm(dir, { recursive: true, force: true }));

/** The id of a process that has run and exited (and been reaped): what a SIGKILLed worker's id becomes. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(child.stdout);
}

describe('writeAtomic', () => {
  it('writes the whole file and leaves no partial file', async () => {
    const file = path.join(dir, 'whole.bin');
    await writeAtomic(file, Buffer.alloc(100_000, 7));
    assert.deepEqual(await readFile(file), Buffer.alloc(100_000, 7));
    assert.deepEqual(await readdir(dir), ['whole.bin']);
  });

  it("sweeps away a dead writer's partial of the same file, and nothing else", async () => {
    const file = path.join(dir, 'blob.raw');
    const dead = partialName(file, deadPid(), 0);
    const live = partialName(file, process.ppid, 0); // the test runner: alive
    const otherFile = partialName(path.join(dir, 'other.raw'), deadPid(), 0);
    const own = path.basename(dead).match(/\.([0-9a-f]{6})-/)![1];
    const otherHost = path.basename(dead).replace(`.${own}-`, `.${own === '000000' ? '111111' : '000000'}-`);
    for (const f of [dead, live, otherFile, path.join(dir, otherHost)]) await writeFile(f, 'half');

    await writeAtomic(file, 'whole');
    const left = await readdir(dir);
    assert.ok(!left.includes(path.basename(dead)), 'the dead writer’s partial is gone');
    for (const kept of [live, otherFile, otherHost])
      assert.ok(left.includes(path.basename(kept)), `${path.basename(kept)} is kept`);
    assert.equal(await readFile(file, 'utf8'), 'whole');
  });
});
