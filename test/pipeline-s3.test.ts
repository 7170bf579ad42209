import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@temporalio/client';
import sharp from 'sharp';
import { applyChainInProcess } from '../src/bench/monolith-chain';
import type { FilterStep } from '../src/common/types';
import { openBlobStore, openObjectStore } from '../src/lib/blob-store';
import { startPhotoRun } from '../src/lib/photo-runs';
import { startS3Server, type S3Server } from '../src/lib/s3-server';
import { jpeg } from './support/images';
import { Processes } from './support/processes';

const FILTERS: FilterStep[] = [
  { filter: 'resize', params: { width: 320 } },
  { filter: 'sepia' },
  { filter: 'output', params: { format: 'jpeg', quality: 85 } },
];

/**
 * Workers as separate processes, each with its own data folder and only the settings `npm run s3` prints: the
 * blobs and the gallery live in a real S3-compatible server (versitygw), none on a worker's disk.
 */
describe('the pipeline on the S3 driver', () => {
  const procs = new Processes();
  let s3: S3Server;
  let address: string;
  let client: Client;
  const hostDir = (host: string) => path.join(procs.dir, host);

  before(async () => {
    ({ address, client } = await procs.start());
    s3 = await startS3Server({ dir: path.join(procs.dir, 's3') });
  });
  after(async () => {
    await s3?.stop();
    await procs.cleanup();
  });

  it('runs upload, filters and the gallery through the bucket; the output equals the in-process chain', async () => {
    await procs.startWorker({ services: ['workflow', 'upload'], address, dataDir: hostDir('a'), env: s3.env() });
    await procs.startWorker({ services: ['filter', 'share'], address, dataDir: hostDir('b'), env: s3.env() });
    const photo = path.join(procs.dir, 'harbour.jpg');
    writeFileSync(photo, await jpeg({ width: 640, height: 480 }));

    const handle = await startPhotoRun(client, { source: { path: photo }, filters: FILTERS, share: ['gallery'] });
    const result = await handle.result();

    const output = await openBlobStore(s3.location()).get(result.output.key);
    const expected = await applyChainInProcess(readFileSync(photo), FILTERS);
    const [a, b] = await Promise.all([output, expected].map((buf) => sharp(buf).raw().toBuffer()));
    assert.ok(a.equals(b), 'pixel-identical to the in-process chain');

    const [receipt] = result.shares;
    const file = path.posix.basename(receipt!.location);
    assert.equal(receipt!.location, `s3://${s3.bucket}/gallery/${file}`);
    const gallery = openObjectStore(s3.location('gallery'));
    assert.ok((await gallery.get(file))!.equals(output));
    assert.ok((await gallery.get('index.html'))!.toString('utf8').includes(`src="${file}"`));

    for (const host of ['a', 'b'])
      for (const folder of ['blobs', 'gallery'])
        assert.ok(!existsSync(path.join(hostDir(host), folder)), `nothing in host ${host}'s ${folder} folder`);
  });

  it('a worker whose store is unusable stops at start, naming the setting to fix', async () => {
    const start = (name: string, env: Record<string, string>) =>
      procs.startWorker({ services: ['filter'], address, dataDir: hostDir(name), env: { ...s3.env(), ...env } });
    await assert.rejects(start('c', { AWS_SECRET_ACCESS_KEY: 'not-the-secret' }), (err: Error) => {
      assert.match(err.message, /exited \(\{"code":1.*before it was ready/);
      assert.match(
        err.message,
        /worker: the blob store at s3:\/\/nano-photos\/ is not usable: .*AWS_SECRET_ACCESS_KEY/,
      );
      assert.ok(!err.message.includes(s3.credentials.secretAccessKey));
      return true;
    });
    await assert.rejects(start('d', { NANO_PHOTOS_BLOB_URL: 's3://no-such-bucket' }), (err: Error) => {
      assert.match(err.message, /bucket "no-such-bucket" does not exist .*fix NANO_PHOTOS_BLOB_URL/);
      return true;
    });
  });
});
