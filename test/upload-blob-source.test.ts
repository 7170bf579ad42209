import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { createUploadActivities } from '../activities/upload/upload';
import type { ImageRef, UploadSource } from '../src/common/types';
import { FileBlobStore, sha256 } from '../src/lib/blob-store';
import { putPhotoFile } from '../src/lib/photo-runs';
import * as images from './support/images';

/*
 * The `blob` source: a caller that shares no disk with the workers puts the photo into the blob store first
 * (putPhotoFile, as `npm run photo` does) and the upload service checks the content like any other upload's.
 */

let tmp: string;
let store: FileBlobStore;
const env = () => new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });

before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'nano-photos-blob-source-'));
  store = new FileBlobStore(path.join(tmp, 'blobs'));
});
after(() => rm(tmp, { recursive: true, force: true }));

function upload(source: unknown): Promise<ImageRef> {
  const { upload } = createUploadActivities({
    store,
    limits: {
      maxBytes: 100_000,
      maxPixels: 1_000_000,
      fetchTimeoutMs: 1000,
      maxRedirects: 0,
      allowedRoots: [],
      allowedNetworks: [],
      pixelBudget: 1_000_000,
    },
  });
  return env().run(upload, source as UploadSource);
}

async function invalid(promise: Promise<unknown>, pattern: RegExp) {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof ApplicationFailure, `an ApplicationFailure, not ${String(err)}`);
    assert.equal(err.type, 'InvalidInput');
    assert.equal(err.nonRetryable, true);
    assert.match(err.message, pattern);
    return true;
  });
}

describe('upload from a blob the caller put into the store', () => {
  it('a local photo goes into the store under its content hash and is accepted as it is', async () => {
    const bytes = await images.jpeg({ width: 40, height: 30 });
    const file = path.join(tmp, 'holiday.photo');
    await writeFile(file, bytes);
    const source = await putPhotoFile(store, file);
    assert.deepEqual(source, { blob: `${sha256(bytes)}.jpg` }, 'the extension comes from the content');
    const ref = await upload(source);
    assert.equal(ref.key, `${sha256(bytes)}.jpg`, 'no second copy: the same key');
    assert.deepEqual([ref.format, ref.width, ref.height], ['jpeg', 40, 30]);
    assert.deepEqual(await store.get(ref.key), bytes);
  });

  it('a blob that is not an image is refused by the upload service, like a file', async () => {
    const file = path.join(tmp, 'notes.txt');
    await writeFile(file, 'not a photo at all');
    const source = await putPhotoFile(store, file);
    assert.match((source as { blob: string }).blob, /^[0-9a-f]{64}\.bin$/);
    await invalid(upload(source), /upload: not a supported image/);
  });

  it('a key that is not in the store fails at once, saying to put the bytes first', async () => {
    const before = await readdir(path.join(tmp, 'blobs'), { recursive: true });
    await invalid(
      upload({ blob: `${'ab'.repeat(32)}.jpg` }),
      /upload: blob (ab)+\.jpg is not in the blob store; put the photo/,
    );
    assert.deepEqual(await readdir(path.join(tmp, 'blobs'), { recursive: true }), before, 'nothing stored');
  });

  it('a key that could name a path is refused before the store is touched', async () => {
    await invalid(upload({ blob: '../../etc/passwd' }), /upload: blob: blob key must look like <sha256>\.<ext>/);
    await invalid(upload({ blob: 'x', path: '/tmp/a.jpg' }), /expected source to be exactly one of/);
  });
});
