import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import sharp from 'sharp';
import { createBlueskyShare } from '../activities/share/bluesky';
import { rateLimitDelayMs } from '../activities/share/bluesky-errors';
import { postRecordKey, postText } from '../activities/share/bluesky-post';
import { BLUESKY_IMAGE_LIMITS } from '../src/common/share-limits';
import type { ImageRef, ShareInput } from '../src/common/types';
import { FileBlobStore } from '../src/lib/blob-store';
import { loadConfig } from '../src/lib/config';

/**
 * Unit tests of the bluesky share activity: its checks, its record, and how it reads the PDS's answers. The PDS here
 * is a stub on loopback that answers what a test sets; test/bluesky/ runs the real PDS.
 */

const quiet = new DefaultLogger('ERROR');
const run = <A extends unknown[], R>(fn: (...args: A) => Promise<R>, ...args: A): Promise<R> =>
  new MockActivityEnvironment(undefined, { logger: quiet }).run(fn, ...args) as Promise<R>;
const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => assert.fail('expected the activity to fail'),
    (err: Error) => err,
  );

interface Answer {
  status: number;
  body?: object;
  headers?: Record<string, string>;
}
/** Answers per XRPC method; unset methods answer as a healthy PDS would. */
let answers: Record<string, Answer> = {};
const calls: string[] = [];
let server: http.Server;
let service: string;
let tmp: string;
let store: FileBlobStore;
let image: ImageRef;

const DID = 'did:plc:abcdefghijklmnopqrstuvwx';
const RECORD_CID = 'bafyreif2bordto5isw7geljmgxag4zdvctjr34mneiffhx4kcdzh4tsc54';
const healthy: Record<string, Answer> = {
  'com.atproto.server.createSession': {
    status: 200,
    body: { did: DID, handle: 'alice.test', accessJwt: 'a', refreshJwt: 'r', active: true },
  },
  'com.atproto.repo.getRecord': { status: 400, body: { error: 'RecordNotFound', message: 'Could not locate record' } },
};

function share(overrides: Partial<ShareInput> = {}): ShareInput {
  return {
    image,
    idempotencyKey: 'photo-1a2b3c4d5e6f-x7k2:bluesky',
    title: 'beach.jpg',
    filters: ['sepia'],
    createdAt: '2026-07-01T09:30:00.000Z',
    ...overrides,
  };
}
const bluesky = () =>
  createBlueskyShare({ store, bluesky: { service, handle: 'alice.test', appPassword: 'abcd-efgh-ijkl-mnop' } });

before(async () => {
  server = http.createServer((req, res) => {
    const method = new URL(req.url!, 'http://x').pathname.replace('/xrpc/', '');
    calls.push(method);
    req.resume();
    const answer = answers[method] ?? healthy[method] ?? { status: 500, body: { error: 'NotStubbed' } };
    res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
    res.end(JSON.stringify(answer.body ?? {}));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  service = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  tmp = await mkdtemp(path.join(os.tmpdir(), 'nano-photos-bluesky-'));
  store = new FileBlobStore(tmp);
  const data = await sharp({ create: { width: 32, height: 24, channels: 3, background: '#3366cc' } })
    .jpeg()
    .toBuffer();
  image = { ...(await store.put(data, 'jpg')), format: 'jpeg', width: 32, height: 24, channels: 3 };
});
after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await rm(tmp, { recursive: true, force: true });
});

describe('the post', () => {
  test('record key: a valid TID, the same for the same run, different for another run or time', () => {
    const key = postRecordKey('2026-07-01T09:30:00.000Z', 'photo-a:bluesky');
    assert.match(key, /^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$/);
    assert.equal(postRecordKey('2026-07-01T09:30:00.000Z', 'photo-a:bluesky'), key);
    assert.notEqual(postRecordKey('2026-07-01T09:30:00.000Z', 'photo-b:bluesky'), key);
    assert.notEqual(postRecordKey('2026-07-01T09:30:00.001Z', 'photo-a:bluesky'), key);
    // Sortable by time, like any TID: a later run's post sorts after an earlier one's.
    assert.ok(postRecordKey('2026-07-02T00:00:00.000Z', 'photo-a:bluesky') > key);
  });

  test('text: the title and the filters, the filter list shortened to fit 300 graphemes', () => {
    assert.equal(postText('beach.jpg', ['sepia', 'output']), 'beach.jpg\n\nFilters: sepia, output');
    assert.equal(postText('beach.jpg', []), 'beach.jpg');
    const long = postText(
      't'.repeat(250),
      Array.from({ length: 20 }, (_, i) => `filter${i}`),
    );
    assert.ok([...new Intl.Segmenter().segment(long)].length <= 300);
    assert.match(long, /^t{250}\n\nFilters: filter0, .*, …$/);
  });
});

describe('shareBluesky refuses, non-retryably and naming the limit or setting', () => {
  test('a title over 300 graphemes, before anything is sent', async () => {
    calls.length = 0;
    const err = await failure(run(bluesky().shareBluesky, share({ title: '🏖️'.repeat(301) })));
    assert.ok(err instanceof ApplicationFailure && err.nonRetryable);
    assert.equal(err.type, 'BlueskyPostRefused');
    assert.match(err.message, /at most 300 graphemes .*the title alone is 301 graphemes/);
    assert.deepEqual(calls, []);
  });

  test('an image over 1,000,000 bytes (fitImage was skipped)', async () => {
    const big = { ...image, bytes: BLUESKY_IMAGE_LIMITS.maxBytes + 1 };
    const err = await failure(run(bluesky().shareBluesky, share({ image: big })));
    assert.ok(err instanceof ApplicationFailure && err.nonRetryable);
    assert.match(err.message, /at most 1000000 bytes and 2000 px a side .*received 32×24, 1000001 bytes/);
  });

  test('a missing createdAt', async () => {
    const err = await failure(run(bluesky().shareBluesky, share({ createdAt: undefined })));
    assert.ok(err instanceof ApplicationFailure && err.type === 'InvalidInput');
    assert.match(err.message, /expected createdAt to be the run's start time as ISO 8601/);
  });

  test('a worker without the settings', async () => {
    const err = await failure(run(createBlueskyShare({ store }).shareBluesky, share()));
    assert.ok(err instanceof ApplicationFailure && err.nonRetryable);
    assert.equal(err.type, 'BlueskyNotConfigured');
    assert.match(err.message, /NANO_PHOTOS_BLUESKY_HANDLE and NANO_PHOTOS_BLUESKY_APP_PASSWORD/);
  });

  test('an app password the PDS does not take (401 at sign-in)', async () => {
    answers = {
      'com.atproto.server.createSession': {
        status: 401,
        body: { error: 'AuthenticationRequired', message: 'Invalid identifier or password' },
      },
    };
    const err = await failure(run(bluesky().shareBluesky, share()));
    assert.ok(err instanceof ApplicationFailure && err.nonRetryable);
    assert.equal(err.type, 'BlueskyCredentials');
    assert.match(err.message, /NANO_PHOTOS_BLUESKY_HANDLE and NANO_PHOTOS_BLUESKY_APP_PASSWORD/);
    assert.ok(!err.message.includes('abcd-efgh-ijkl-mnop'), 'the app password is never quoted');
  });

  test('a post the PDS refuses (400 on putRecord)', async () => {
    answers = {
      'com.atproto.repo.uploadBlob': { status: 200, body: { blob: blobOf() } },
      'com.atproto.repo.putRecord': {
        status: 400,
        body: { error: 'InvalidRequest', message: 'Invalid app.bsky.feed.post record: grapheme too big' },
      },
    };
    const err = await failure(run(bluesky().shareBluesky, share()));
    assert.ok(err instanceof ApplicationFailure && err.nonRetryable);
    assert.equal(err.type, 'BlueskyPostRefused');
    assert.match(err.message, /answered 400 InvalidRequest while posting: .*grapheme too big; Bluesky refuses/);
  });
});

describe('shareBluesky retries', () => {
  test('a rate limit, after the limit resets (nextRetryDelay from ratelimit-reset)', async () => {
    const reset = Math.floor(Date.now() / 1000) + 120;
    answers = {
      'com.atproto.repo.uploadBlob': {
        status: 429,
        body: { error: 'RateLimitExceeded', message: 'Rate Limit Exceeded' },
        headers: { 'ratelimit-reset': String(reset), 'ratelimit-remaining': '0' },
      },
    };
    const err = await failure(run(bluesky().shareBluesky, share()));
    assert.ok(err instanceof ApplicationFailure, String(err));
    assert.equal(err.nonRetryable, false);
    assert.equal(err.type, 'BlueskyRateLimited');
    const delay = Number(err.nextRetryDelay);
    assert.ok(delay > 110_000 && delay <= 121_000, `retry in ${delay} ms`);
    assert.equal(rateLimitDelayMs({ 'ratelimit-reset': '1' }), 1000, 'a reset in the past: a second, no tight loop');
  });

  for (const status of [500, 502, 503]) {
    test(`a ${status}`, async () => {
      answers = { 'com.atproto.repo.uploadBlob': { status, body: { error: 'InternalServerError', message: 'oops' } } };
      const err = await failure(run(bluesky().shareBluesky, share()));
      assert.ok(!(err instanceof ApplicationFailure), `a plain Error is retried: ${err}`);
      assert.match(err.message, new RegExp(`answered ${status} .*while uploading the image.*; will retry`));
    });
  }

  test('a PDS that is down', async () => {
    const down = createBlueskyShare({
      store,
      bluesky: { service: 'http://127.0.0.1:1', handle: 'alice.test', appPassword: 'x' },
    });
    const err = await failure(run(down.shareBluesky, share()));
    assert.ok(!(err instanceof ApplicationFailure), String(err));
    assert.match(err.message, /signing in failed: fetch failed; will retry/);
  });
});

describe('shareBluesky after a crash', () => {
  test('finds the post an earlier attempt made and reports it as a duplicate, uploading nothing', async () => {
    const rkey = postRecordKey(share().createdAt!, share().idempotencyKey);
    const uri = `at://${DID}/app.bsky.feed.post/${rkey}`;
    answers = {
      'com.atproto.repo.getRecord': {
        status: 200,
        body: { uri, cid: RECORD_CID, value: { $type: 'app.bsky.feed.post', text: 'x', createdAt: share().createdAt } },
      },
    };
    calls.length = 0;
    const receipt = await run(bluesky().shareBluesky, share());
    assert.deepEqual(
      { location: receipt.location, duplicate: receipt.duplicate, account: receipt.account },
      { location: uri, duplicate: true, account: 'alice.test' },
    );
    assert.ok(!calls.includes('com.atproto.repo.uploadBlob') && !calls.includes('com.atproto.repo.putRecord'));
  });
});

describe('settings', () => {
  test('come in threes, the service defaulting to bsky.social', () => {
    const config = loadConfig({
      NANO_PHOTOS_BLUESKY_HANDLE: '@alice.bsky.social',
      NANO_PHOTOS_BLUESKY_APP_PASSWORD: 'p',
    });
    assert.deepEqual(config.bluesky, { service: 'https://bsky.social', handle: 'alice.bsky.social', appPassword: 'p' });
    assert.equal(loadConfig({}).bluesky, undefined);
    assert.throws(
      () => loadConfig({ NANO_PHOTOS_BLUESKY_HANDLE: 'alice.test' }),
      /missing: NANO_PHOTOS_BLUESKY_APP_PASSWORD/,
    );
    assert.throws(
      () =>
        loadConfig({
          NANO_PHOTOS_BLUESKY_SERVICE: 'ftp://x',
          NANO_PHOTOS_BLUESKY_HANDLE: 'a',
          NANO_PHOTOS_BLUESKY_APP_PASSWORD: 'p',
        }),
      /NANO_PHOTOS_BLUESKY_SERVICE: expected the PDS's http\(s\) URL/,
    );
  });
});

function blobOf() {
  return {
    $type: 'blob',
    ref: { $link: 'bafkreif7aj4uyffx4hwzk4oz4sn2vwr2co373bpnghkalk3dslmgmggufa' },
    mimeType: 'image/jpeg',
    size: image.bytes,
  };
}
