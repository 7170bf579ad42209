import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { readAll } from '../activities/upload/read-all';

describe("readAll: a local upload's bytes in one buffer", () => {
  const folder = mkdtempSync(path.join(os.tmpdir(), 'nano-photos-read-all-'));
  after(() => rmSync(folder, { recursive: true, force: true }));
  const content = randomBytes(300_000);
  const file = path.join(folder, 'photo.bin');
  writeFileSync(file, content);

  async function read(size: number, limit: number): Promise<Buffer> {
    const handle = await open(file);
    try {
      return await readAll(handle, size, limit);
    } finally {
      await handle.close();
    }
  }

  it('reads a file of the size stat gave', async () => {
    assert.ok((await read(content.length, 1_000_000)).equals(content));
  });

  it('reads on when the file has grown since stat', async () => {
    assert.ok((await read(1000, 1_000_000)).equals(content));
  });

  it('stops at the limit', async () => {
    assert.ok((await read(1000, 250_001)).equals(content.subarray(0, 250_001)));
    assert.ok((await read(content.length, 100_001)).equals(content.subarray(0, 100_001)));
  });

  it('returns what is there when the file has shrunk since stat', async () => {
    assert.ok((await read(500_000, 1_000_000)).equals(content));
  });
});
