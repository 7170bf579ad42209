import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { createGalleryShare } from '../activities/share/gallery';
import type { ImageRef, ShareInput } from '../src/common/types';
import {
  BLOB_CORRUPT,
  ContentAddressedStore,
  openObjectStore,
  probeStore,
  sha256,
  STORE_MISCONFIGURED,
  type ObjectStore,
  type StoreSettings,
} from '../src/lib/blob-store';
import { loadConfig } from '../src/lib/config';
import { startS3Server, type S3Server } from '../src/lib/s3-server';
import { jpeg } from './support/images';

/**
 * One contract for every blob store driver, run against the embedded file driver and against a real S3-compatible
 * server (versitygw, started here on a free loopback port and stopped also when a test fails).
 */

const quiet = new DefaultLogger('ERROR');
const run = <A extends unknown[], R>(fn: (...args: A) => Promise<R>, ...args: A): Promise<R> =>
  new MockActivityEnvironment(undefined, { logger: quiet }).run(fn, ...args) as Promise<R>;

async function failure(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => assert.fail('expected a failure'),
    (err: Error) => err,
  );
}

/** Counts the writes that reach the driver, to tell a skipped upload from a repeated one. */
function counting(objects: ObjectStore): { objects: ObjectStore; puts: string[] } {
  const puts: string[] = [];
  return {
    puts,
    objects: new Proxy(objects, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver) as unknown;
        if (prop === 'put')
          return (name: string, ...rest: unknown[]) => {
            puts.push(name);
            return (value as (...a: unknown[]) => Promise<void>).call(target, name, ...rest);
          };
        return typeof value === 'function' ? value.bind(target) : value;
      },
    }),
  };
}

/**
 * Hosts see different delays: each write of the page and each listing through this store waits a random 0-20 ms
 * first, so a publisher's page often lands after a newer one, the race the gallery's design must survive.
 */
function jittery(objects: ObjectStore): ObjectStore {
  const pause = () => new Promise((r) => setTimeout(r, Math.random() * 20));
  return new Proxy(objects, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (prop !== 'list' && prop !== 'put') return typeof value === 'function' ? value.bind(target) : value;
      return async (...args: unknown[]) => {
        if (prop === 'list' || args[0] === 'index.html') await pause();
        return (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
      };
    },
  });
}

/** Holds this store's first write of the page until `release()`: a publisher whose page lands late. */
function holdingFirstPage(objects: ObjectStore) {
  let reached!: () => void;
  let release!: () => void;
  const holding = new Promise<void>((r) => (reached = r));
  const released = new Promise<void>((r) => (release = r));
  let first = true;
  const held = new Proxy(objects, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (prop !== 'put') return typeof value === 'function' ? value.bind(target) : value;
      return async (name: string, ...rest: unknown[]) => {
        if (name === 'index.html' && first) {
          first = false;
          reached();
          await released;
        }
        return (value as (...a: unknown[]) => Promise<void>).call(target, name, ...rest);
      };
    },
  });
  return { objects: held, holding, release };
}

interface Driver {
  name: string;
  /** A fresh, empty store location of this driver. */
  location(label: string): StoreSettings;
}

let tmp: string;
let s3: S3Server;
let n = 0;

const drivers: Driver[] = [
  {
    name: 'file',
    location: (label) => ({ driver: 'file', dir: path.join(tmp, 'file', `${label}-${++n}`), setting: 'TEST' }),
  },
  { name: 's3', location: (label) => s3.location(`${label}-${++n}`) },
];

before(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'nano-photos-contract-'));
  s3 = await startS3Server({ dir: path.join(tmp, 's3') });
});
after(async () => {
  await s3?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

for (const driver of drivers) {
  describe(`the ${driver.name} driver`, () => {
    const blobStore = () => {
      const { objects, puts } = counting(openObjectStore(driver.location('blobs')));
      return { store: new ContentAddressedStore(objects), objects, puts };
    };

    test('put, has and get round trip; a missing blob is a retryable error', async () => {
      const { store } = blobStore();
      const data = randomBytes(1000);
      const blob = await store.put(data, 'raw');
      assert.deepEqual(blob, { key: `${sha256(data)}.raw`, sha256: sha256(data), bytes: 1000 });
      assert.equal(await store.has(blob.key), true);
      assert.ok((await store.get(blob.key)).equals(data));

      const absent = `${sha256(Buffer.from('absent'))}.raw`;
      assert.equal(await store.has(absent), false);
      const err = await failure(store.get(absent));
      assert.match(err.message, /is not in the store/);
      assert.ok(!(err instanceof ApplicationFailure), 'another worker may still be about to write it');
    });

    test('storing the same bytes again uploads nothing; a blob of the wrong size is written again', async () => {
      const { store, objects, puts } = blobStore();
      const data = randomBytes(5000);
      const first = await store.put(data, 'raw');
      const again = await store.put(data, 'raw');
      assert.deepEqual(again, first);
      assert.equal(puts.length, 1, 'one upload for two puts of the same bytes');

      // Damage it the way a truncated write would (bypassing the blob store), then store it again: repaired.
      const name = store.nameOf(first.key);
      await objects.put(name, data.subarray(0, 100));
      await store.put(data, 'raw');
      assert.equal(puts.filter((p) => p === name).length, 3);
      assert.ok((await store.get(first.key)).equals(data));
    });

    test('storing bytes already there refreshes their modified time; listings show it, deeper folders too', async () => {
      const { store, objects, puts } = blobStore();
      const data = randomBytes(3000);
      const blob = await store.put(data, 'raw');
      const name = store.nameOf(blob.key);
      const first = (await objects.head(name))!.modified;
      assert.ok(Math.abs(first.getTime() - Date.now()) < 60_000, `modified ${first.toISOString()} is about now`);
      // S3 keeps modified times in whole seconds.
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      await store.put(data, 'raw');
      assert.equal(puts.length, 1, 'refreshed by a touch, not by a second write through the blob store');
      const refreshed = (await objects.head(name))!.modified;
      assert.ok(refreshed > first, `modified ${refreshed.toISOString()} after ${first.toISOString()}`);
      assert.ok((await store.get(blob.key)).equals(data), 'the touch left the bytes as they were');

      const scratch = await store.put(randomBytes(100), 'raw', 'run-1');
      const listed = await objects.listAll();
      assert.deepEqual(
        listed.map((o) => o.name),
        [name, store.nameOf(scratch.key)].sort(),
      );
      assert.equal(listed.find((o) => o.name === name)!.modified.getTime(), refreshed.getTime());
      assert.deepEqual(await objects.list(''), [], 'list stays in its folder');
      assert.deepEqual(
        (await objects.listAll('scratch/')).map((o) => o.name),
        [store.nameOf(scratch.key)],
      );
    });

    test('a listing can keep only the names that end with a suffix, in its own folder', async () => {
      const objects = openObjectStore(driver.location('suffix'));
      for (const name of ['a.json', 'a.jpg', 'b.json', 'b.json.jpg', 'c.json.old', 'deeper/d.json'])
        await objects.put(name, Buffer.from(name));
      assert.deepEqual(
        (await objects.list('', '.json')).map((o) => o.name),
        ['a.json', 'b.json'],
      );
      assert.deepEqual(
        (await objects.list('b', '.json')).map((o) => o.name),
        ['b.json'],
      );
      assert.deepEqual(
        (await objects.list('deeper/', '.json')).map((o) => o.name),
        ['deeper/d.json'],
      );
      assert.equal((await objects.list()).length, 5, 'no suffix: every object in the folder');
    });

    test('deleting a folder of more objects than S3 deletes in one request removes them all', async () => {
      const { objects } = blobStore();
      const names = Array.from({ length: 1001 }, (_, i) => `scratch/big/${String(i).padStart(4, '0')}.raw`);
      for (let i = 0; i < names.length; i += 50)
        await Promise.all(names.slice(i, i + 50).map((name) => objects.put(name, Buffer.from(name))));
      await objects.put('scratch/bigger.raw', Buffer.from('next to the folder, not in it'));
      const removed = await objects.deleteFolder('scratch/big');
      assert.deepEqual(
        removed.map((o) => o.name),
        names,
      );
      assert.deepEqual(
        (await objects.listAll('scratch/')).map((o) => o.name),
        ['scratch/bigger.raw'],
      );
    });

    test("a run's intermediates live in its own scratch folder and go with it, shared blobs stay", async () => {
      const { store, objects } = blobStore();
      const data = randomBytes(2000);
      const shared = await store.put(data, 'raw');
      const mine = await store.put(data, 'raw', 'run-a');
      const theirs = await store.put(data, 'raw', 'run-b');
      assert.equal(mine.key, `scratch/run-a/${shared.key}`);
      assert.equal(store.nameOf(mine.key), mine.key);
      assert.deepEqual(await store.put(data, 'raw', 'run-a'), mine, 'a retried step finds its own blob');
      assert.ok((await store.get(mine.key)).equals(data));

      const removed = await store.deleteScratch('run-a');
      assert.deepEqual(
        removed.map((o) => [o.name, o.bytes]),
        [[mine.key, 2000]],
      );
      assert.equal(await store.has(mine.key), false);
      assert.equal(await store.has(theirs.key), true, "another run's intermediates stay");
      assert.equal(await store.has(shared.key), true, 'the shared blob stays');
      assert.deepEqual(await store.deleteScratch('run-a'), [], 'deleting again finds nothing');
      assert.deepEqual(
        (await objects.listAll()).map((o) => o.name),
        [store.nameOf(shared.key), theirs.key].sort(),
      );
      for (const scope of ['..', 'a/b', 'a.b', '', 'x'.repeat(65)])
        await assert.rejects(store.put(data, 'raw', scope), /scratch scope .* is not allowed/);
    });

    test('a 50 MB blob goes in with one upload and comes back whole', async (t) => {
      const { store, puts } = blobStore();
      const data = randomBytes(50 * 1024 * 1024);
      let started = performance.now();
      const blob = await store.put(data, 'raw');
      const putMs = performance.now() - started;
      started = performance.now();
      const back = await store.get(blob.key);
      const getMs = performance.now() - started;
      assert.equal(back.length, data.length);
      assert.ok(back.equals(data));
      assert.equal(puts.length, 1);
      t.diagnostic(`${driver.name}: 50 MB put ${putMs.toFixed(0)} ms, get (with sha256 check) ${getMs.toFixed(0)} ms`);
    });

    test('a blob whose bytes do not match its key is never returned: the read fails for good and removes it', async () => {
      const { store, objects } = blobStore();
      const data = randomBytes(4096);
      const blob = await store.put(data, 'raw');
      const damaged = Buffer.from(data);
      damaged[2000] ^= 0xff; // same size: only the hash can tell
      await objects.put(store.nameOf(blob.key), damaged);

      const err = await failure(store.get(blob.key));
      assert.ok(err instanceof ApplicationFailure && err.nonRetryable, String(err));
      assert.equal(err.type, BLOB_CORRUPT);
      assert.ok(err.message.includes(blob.key) && /corrupt/.test(err.message) && /removed it/.test(err.message));
      assert.equal(await store.has(blob.key), false, 'the corrupt blob is gone');

      // The step that stores these bytes, run again, rebuilds it.
      await store.put(data, 'raw');
      assert.ok((await store.get(blob.key)).equals(data));
    });

    test('the start-up probe passes on a usable store and leaves nothing behind', async () => {
      const objects = openObjectStore(driver.location('probe'));
      await probeStore(objects, 'blob store');
      assert.deepEqual(await objects.list(), []);
    });

    describe('the gallery on this driver', () => {
      let blobs: ContentAddressedStore;
      let image: ImageRef;
      before(async () => {
        blobs = blobStore().store;
        const data = await jpeg({ width: 40, height: 30 });
        image = { ...(await blobs.put(data, 'jpg')), format: 'jpeg', width: 40, height: 30, channels: 3 };
      });
      const input = (key: string): ShareInput => ({
        image,
        idempotencyKey: key,
        title: `title of ${key}`,
        filters: [],
      });
      const figures = (html: string) => html.match(/<figure>/g)?.length ?? 0;

      test('a page rendered from an older listing that lands after a newer one is corrected by its writer', async () => {
        const where = driver.location('gallery');
        const late = holdingFirstPage(openObjectStore(where));
        const slow = createGalleryShare({ store: blobs, gallery: late.objects });
        const fast = createGalleryShare({ store: blobs, gallery: openObjectStore(where) });
        const slowShare = run(slow.shareGallery, input('slow:gallery'));
        await late.holding; // rendered from a listing with its own entry only
        await run(fast.shareGallery, input('fast:gallery')); // a complete publish: its page lists both
        late.release(); // the stale page lands last
        await slowShare;
        const page = (await openObjectStore(where).get('index.html'))!.toString('utf8');
        assert.equal(figures(page), 2);
        assert.ok(page.includes('title of slow:gallery') && page.includes('title of fast:gallery'));

        // The same for the compensation: an unpublish whose page lands after a newer publish's.
        const undo = holdingFirstPage(openObjectStore(where));
        const unpublishing = run(createGalleryShare({ store: blobs, gallery: undo.objects }).unpublishGallery, {
          idempotencyKey: 'slow:gallery',
        });
        await undo.holding;
        await run(fast.shareGallery, input('third:gallery'));
        undo.release();
        assert.equal(await unpublishing, true);
        const after = (await openObjectStore(where).get('index.html'))!.toString('utf8');
        assert.equal(figures(after), 2);
        assert.ok(!after.includes('title of slow:gallery') && after.includes('title of third:gallery'));
      });

      test('50 entries from 5 publishers at once (separate store instances, as on 5 hosts): the page lists all 50; unpublishing 20 of them at once leaves exactly the other 30', async () => {
        const where = driver.location('gallery');
        // Each publisher has its own connection to the store and its own in-process state, like a share worker.
        const publishers = Array.from({ length: 5 }, () =>
          createGalleryShare({ store: blobs, gallery: jittery(openObjectStore(where)) }),
        );
        const keys = Array.from({ length: 50 }, (_, i) => `photo-${String(i).padStart(2, '0')}:gallery`);
        // Publishes arrive over about 300 ms, as they would from busy hosts, not all in the same instant.
        const arrive = () => new Promise((r) => setTimeout(r, Math.random() * 300));
        const receipts = await Promise.all(
          keys.map((key, i) => arrive().then(() => run(publishers[i % 5]!.shareGallery, input(key)))),
        );
        const gallery = openObjectStore(where);
        const page = (await gallery.get('index.html'))!.toString('utf8');
        assert.equal(figures(page), 50);
        for (const receipt of receipts) {
          assert.equal(receipt.duplicate, false);
          assert.equal(receipt.location, gallery.locationOf(path.basename(receipt.location)));
          assert.ok(page.includes(`src="${path.basename(receipt.location)}"`), receipt.location);
          assert.ok((await gallery.get(path.basename(receipt.location)))!.equals(await blobs.get(image.key)));
        }

        const gone = keys.filter((_, i) => i % 5 < 2);
        const removed = await Promise.all(
          gone.map((key, i) =>
            arrive().then(() => run(publishers[(i + 1) % 5]!.unpublishGallery, { idempotencyKey: key })),
          ),
        );
        assert.ok(removed.every(Boolean));
        const after = (await gallery.get('index.html'))!.toString('utf8');
        assert.equal(figures(after), 30);
        for (const key of gone) assert.ok(!after.includes(`title of ${key}<`), key);
        const names = (await gallery.list()).map((o) => o.name);
        assert.equal(names.filter((o) => o.endsWith('.json')).length, 30);
        assert.equal(names.filter((o) => o.endsWith('.jpg')).length, 30);
        assert.equal(await run(publishers[0]!.unpublishGallery, { idempotencyKey: gone[0]! }), false, 'again: no-op');
      });
    });
  });
}

/** A put and a get on `store` both fail at once as STORE_MISCONFIGURED, with a message matching `message`. */
async function assertMisconfigured(store: ContentAddressedStore, message: RegExp): Promise<Error[]> {
  const errors: Error[] = [];
  for (const attempt of [
    () => store.put(Buffer.from('x'), 'raw'),
    () => store.get(`${sha256(Buffer.from('x'))}.raw`),
  ]) {
    const err = await failure(attempt());
    assert.ok(err instanceof ApplicationFailure && err.nonRetryable, String(err));
    assert.equal(err.type, STORE_MISCONFIGURED);
    assert.match(err.message, message);
    errors.push(err);
  }
  return errors;
}

describe('S3 errors are classified for Temporal', () => {
  test('wrong credentials fail at once, naming the settings to fix', async () => {
    for (const credentials of [
      { ...s3.credentials, secretAccessKey: 'not-the-secret' },
      { accessKeyId: 'nobody-we-know', secretAccessKey: 'not-the-secret' },
    ]) {
      const settings = { ...s3.location('wrong-keys'), s3: { ...s3.s3Settings(), credentials } };
      const store = new ContentAddressedStore(openObjectStore(settings));
      for (const err of await assertMisconfigured(store, /AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/))
        assert.ok(!err.message.includes(s3.credentials.secretAccessKey));
      const probe = await failure(probeStore(openObjectStore(settings), 'blob store'));
      assert.match(probe.message, /blob store at s3:\/\/.* is not usable: .*AWS_SECRET_ACCESS_KEY/);
    }
  });

  test('a bucket that does not exist fails at once, naming NANO_PHOTOS_BLOB_URL', async () => {
    const settings = { ...s3.location(), bucket: 'no-such-bucket' };
    const store = new ContentAddressedStore(openObjectStore(settings));
    await assertMisconfigured(store, /bucket "no-such-bucket" does not exist .*fix NANO_PHOTOS_BLOB_URL/);
  });

  test('a file where the folder should be fails the probe, naming the folder', async () => {
    const file = path.join(tmp, 'not-a-folder');
    writeFileSync(file, 'x');
    const err = await failure(
      probeStore(openObjectStore({ driver: 'file', dir: file, setting: 'TEST' }), 'blob store'),
    );
    assert.ok(err.message.includes(`blob store at ${file} is not usable`), err.message);
  });

  test('a body that does not match the sha256 it is stored with is refused, checked as the signed payload hash', async () => {
    const objects = openObjectStore(s3.location('signed-hash'));
    const body = randomBytes(1000);
    // The signature carries the store's own hash of the body (the SDK does not hash it again): the service compares
    // the body with that hash, not only with the ChecksumSHA256 sent beside it.
    const err = await failure(objects.put('blob.raw', body, { sha256: sha256(Buffer.from('other bytes')) }));
    assert.ok(!(err instanceof ApplicationFailure), `retryable, got ${String(err)}`);
    assert.equal((err.cause as Error).name, 'XAmzContentSHA256Mismatch', err.message);
    assert.equal(await objects.head('blob.raw'), undefined, 'nothing stored');
    await objects.put('blob.raw', body, { sha256: sha256(body) });
    assert.deepEqual(await objects.get('blob.raw'), body);
  });

  test('a stopped server is a retryable failure; once it is back, the same store works again', async (t) => {
    const store = new ContentAddressedStore(openObjectStore(s3.location('outage')));
    const blob = await store.put(Buffer.from('before the outage'), 'raw');
    await s3.stop();
    try {
      const started = performance.now();
      for (const attempt of [() => store.get(blob.key), () => store.put(Buffer.from('during'), 'raw')]) {
        const err = await failure(attempt());
        assert.ok(!(err instanceof ApplicationFailure), `retryable, got ${String(err)}`);
        assert.match(err.message, /failed \(will retry\)/);
      }
      t.diagnostic(`both calls failed within ${(performance.now() - started).toFixed(0)} ms`);
    } finally {
      await s3.start();
    }
    assert.equal((await store.get(blob.key)).toString(), 'before the outage');
  });
});

describe('store settings', () => {
  test('the file driver under the data folder by default; an s3 blob URL brings the gallery into its bucket', () => {
    const local = loadConfig({ NANO_PHOTOS_DATA_DIR: '/srv/photos' });
    assert.deepEqual(local.blobStore, { driver: 'file', dir: '/srv/photos/blobs', setting: 'NANO_PHOTOS_BLOB_DIR' });
    assert.deepEqual(local.galleryStore, {
      driver: 'file',
      dir: '/srv/photos/gallery',
      setting: 'NANO_PHOTOS_GALLERY_DIR',
    });
    assert.deepEqual(loadConfig({ NANO_PHOTOS_BLOB_URL: 'file:///mnt/shared/blobs' }).blobStore, {
      driver: 'file',
      dir: '/mnt/shared/blobs',
      setting: 'NANO_PHOTOS_BLOB_URL',
    });

    const shared = loadConfig({
      NANO_PHOTOS_BLOB_URL: 's3://photos/nano/blobs/',
      NANO_PHOTOS_S3_ENDPOINT: 'http://10.0.0.4:7070',
      AWS_ACCESS_KEY_ID: 'key',
      AWS_SECRET_ACCESS_KEY: 'secret',
    });
    const s3 = { endpoint: 'http://10.0.0.4:7070', forcePathStyle: true, region: 'us-east-1' };
    assert.deepEqual(shared.blobStore, {
      driver: 's3',
      bucket: 'photos',
      prefix: 'nano/blobs',
      s3,
      setting: 'NANO_PHOTOS_BLOB_URL',
    });
    assert.equal(shared.galleryStore.driver === 's3' && shared.galleryStore.prefix, 'gallery');
    assert.ok(!JSON.stringify(shared).includes('secret'), 'credentials stay with the AWS SDK, not in the config');
    const aws = loadConfig({ NANO_PHOTOS_BLOB_URL: 's3://photos', NANO_PHOTOS_GALLERY_URL: 's3://site/g' });
    assert.deepEqual(aws.galleryStore.driver === 's3' && [aws.galleryStore.bucket, aws.galleryStore.prefix], [
      'site',
      'g',
    ]);
    assert.equal(aws.blobStore.driver === 's3' && aws.blobStore.s3.forcePathStyle, false);
  });

  test('a malformed setting is refused, naming it', () => {
    for (const [env, message] of [
      [{ NANO_PHOTOS_BLOB_URL: 'http://example.com/x' }, /NANO_PHOTOS_BLOB_URL: expected file:\/\/\/absolute/],
      [{ NANO_PHOTOS_BLOB_URL: 's3://Bad_Bucket' }, /"Bad_Bucket" is not a valid bucket name/],
      [{ NANO_PHOTOS_GALLERY_URL: 's3://ok-bucket/a b' }, /NANO_PHOTOS_GALLERY_URL: .*the prefix may hold/],
      [
        { NANO_PHOTOS_BLOB_URL: 's3://photos', NANO_PHOTOS_BLOB_DIR: '/x' },
        /NANO_PHOTOS_BLOB_URL or NANO_PHOTOS_BLOB_DIR/,
      ],
      [{ NANO_PHOTOS_S3_ENDPOINT: '127.0.0.1:7070' }, /NANO_PHOTOS_S3_ENDPOINT: expected http\(s\):\/\/host:port/],
      [{ NANO_PHOTOS_S3_FORCE_PATH_STYLE: 'yes' }, /NANO_PHOTOS_S3_FORCE_PATH_STYLE: expected true or false/],
    ] as const)
      assert.throws(() => loadConfig(env), message);
  });
});
