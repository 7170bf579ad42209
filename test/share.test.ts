import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import sharp from 'sharp';
import { createGalleryShare } from '../activities/share/gallery';
import { createWebhookShare } from '../activities/share/webhook';
import type { ImageRef, ShareInput } from '../src/common/types';
import { signWebhook, verifyWebhook } from '../activities/share/webhook-signature';
import { partialName } from '../src/lib/atomic-write';
import { FileBlobStore, FileObjectStore } from '../src/lib/blob-store';
import { startWebhookReceiver, type WebhookReceiver } from './support/webhook-receiver';

const SECRET = 'test-secret-5b1f0c9e';
/** Activity failures are the point of many tests here: keep the mock's failure warnings out of the output. */
const quiet = new DefaultLogger('ERROR');
const run = <A extends unknown[], R>(fn: (...args: A) => Promise<R>, ...args: A): Promise<R> =>
  new MockActivityEnvironment(undefined, { logger: quiet }).run(fn, ...args) as Promise<R>;

let tmp: string;
let store: FileBlobStore;
let image: ImageRef;

async function jpeg(color: string): Promise<ImageRef> {
  const data = await sharp({ create: { width: 32, height: 24, channels: 3, background: color } })
    .jpeg()
    .toBuffer();
  return { ...(await store.put(data, 'jpg')), format: 'jpeg', width: 32, height: 24, channels: 3 };
}

function share(overrides: Partial<ShareInput> = {}): ShareInput {
  return {
    image,
    idempotencyKey: 'photo-1a2b3c4d5e6f-x7k2:gallery',
    title: 'beach.jpg',
    filters: ['grayscale'],
    ...overrides,
  };
}

/** Resolves to the error an activity threw, so tests can look at it. */
async function failure(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => assert.fail('expected the activity to fail'),
    (err: Error) => err,
  );
}

const isNonRetryable = (err: Error) => err instanceof ApplicationFailure && err.nonRetryable;

before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'nano-photos-share-'));
  store = new FileBlobStore(path.join(tmp, 'blobs'));
  image = await jpeg('#3366cc');
});
after(() => rm(tmp, { recursive: true, force: true }));

describe('gallery', () => {
  let n = 0;
  const newGallery = () => {
    const galleryDir = path.join(tmp, `gallery-${++n}`);
    return { galleryDir, gallery: createGalleryShare({ store, gallery: new FileObjectStore(galleryDir) }) };
  };
  const entries = (html: string) => html.match(/<figure>/g)?.length ?? 0;

  test('publishes the image and an index with the title escaped', async () => {
    const { galleryDir, gallery } = newGallery();
    const title = '<script>alert("x")</script> & co';
    const receipt = await run(gallery.shareGallery, share({ title }));
    assert.equal(receipt.target, 'gallery');
    assert.equal(receipt.duplicate, false);
    assert.ok(path.isAbsolute(receipt.location) && path.dirname(receipt.location) === galleryDir);
    assert.match(path.basename(receipt.location), /^photo-1a2b3c4d5e6f-x7k2_gallery-[0-9a-f]{8}\.jpg$/);
    assert.deepEqual(await readFile(receipt.location), await store.get(image.key));

    const html = await readFile(path.join(galleryDir, 'index.html'), 'utf8');
    assert.ok(html.includes('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co'));
    assert.ok(!html.includes('<script>alert'));
    assert.ok(html.includes(`src="${path.basename(receipt.location)}"`));
    assert.ok(html.includes('32×24 jpeg') && html.includes('grayscale'));
  });

  test('a retry after a crash mid-write sweeps away the half-written files of its own entry only', async () => {
    const { galleryDir, gallery } = newGallery();
    const first = await run(gallery.shareGallery, share());
    const name = path.basename(first.location, '.jpg');
    // What a worker killed inside writeAtomic leaves behind, for this entry and for another one.
    const dead = spawnSync(process.execPath, ['-e', '']).pid!;
    const partialOf = (file: string) => path.basename(partialName(path.join(galleryDir, file), dead, 0));
    await writeFile(path.join(galleryDir, partialOf(`${name}.jpg`)), 'half');
    await writeFile(path.join(galleryDir, partialOf(`${name}.json`)), 'half');
    await writeFile(path.join(galleryDir, partialOf('someone-else_gallery-00000000.jpg')), 'half');
    await run(gallery.shareGallery, share());
    assert.deepEqual(
      (await readdir(galleryDir)).filter((f) => f.endsWith('.partial')),
      [partialOf('someone-else_gallery-00000000.jpg')],
    );
  });

  test('republishing the same key is a duplicate and changes nothing', async () => {
    const { galleryDir, gallery } = newGallery();
    await run(gallery.shareGallery, share());
    const files = await readdir(galleryDir);
    const html = await readFile(path.join(galleryDir, 'index.html'), 'utf8');
    const again = await run(gallery.shareGallery, share());
    assert.equal(again.duplicate, true);
    assert.deepEqual(await readdir(galleryDir), files);
    assert.equal(await readFile(path.join(galleryDir, 'index.html'), 'utf8'), html);
    assert.equal(entries(html), 1);
  });

  test('the same key with different content overwrites its entry', async () => {
    const { galleryDir, gallery } = newGallery();
    await run(gallery.shareGallery, share({ title: 'take one' }));
    const png = {
      ...image,
      format: 'png' as const,
      ...(await store.put(
        await sharp(await store.get(image.key))
          .png()
          .toBuffer(),
        'png',
      )),
    };
    const rerun = await run(gallery.shareGallery, share({ title: 'take two', image: png }));
    assert.equal(rerun.duplicate, false);
    assert.ok(rerun.location.endsWith('.png'));
    const html = await readFile(path.join(galleryDir, 'index.html'), 'utf8');
    assert.equal(entries(html), 1);
    assert.ok(html.includes('take two') && !html.includes('take one'));
    assert.deepEqual(
      (await readdir(galleryDir)).filter((f) => f.endsWith('.jpg')),
      [],
      'the old format is removed',
    );
  });

  test('different keys are different entries, newest first', async () => {
    const { galleryDir, gallery } = newGallery();
    await run(gallery.shareGallery, share({ idempotencyKey: 'photo-aaaaaaaaaaaa-0001:gallery', title: 'older' }));
    await new Promise((r) => setTimeout(r, 5));
    await run(
      gallery.shareGallery,
      share({ idempotencyKey: 'photo-bbbbbbbbbbbb-0002:gallery', title: 'newer', image: await jpeg('#cc3366') }),
    );
    const html = await readFile(path.join(galleryDir, 'index.html'), 'utf8');
    assert.equal(entries(html), 2);
    assert.ok(html.indexOf('newer') < html.indexOf('older'));
  });

  test('concurrent publishers never lose each other’s entries', async () => {
    const { galleryDir } = newGallery();
    // Separate instances, as separate worker processes would be.
    await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        run(
          createGalleryShare({ store, gallery: new FileObjectStore(galleryDir) }).shareGallery,
          share({ idempotencyKey: `photo-${i}:gallery`, title: `t${i}` }),
        ),
      ),
    );
    assert.equal(entries(await readFile(path.join(galleryDir, 'index.html'), 'utf8')), 12);
  });

  test('unpublish removes the image, its sidecar and its entry', async () => {
    const { galleryDir, gallery } = newGallery();
    const keep = await run(gallery.shareGallery, share({ idempotencyKey: 'photo-keep:gallery', title: 'keep' }));
    await run(gallery.shareGallery, share({ title: 'gone' }));
    assert.equal(await run(gallery.unpublishGallery, { idempotencyKey: share().idempotencyKey }), true);
    assert.deepEqual(
      (await readdir(galleryDir)).sort(),
      ['index.html', path.basename(keep.location), path.basename(keep.location).replace(/jpg$/, 'json')].sort(),
    );
    const html = await readFile(path.join(galleryDir, 'index.html'), 'utf8');
    assert.ok(html.includes('keep') && !html.includes('gone'));
    assert.equal(await run(gallery.unpublishGallery, { idempotencyKey: share().idempotencyKey }), false);
  });

  test('keys that could traverse are rejected as invalid input and nothing is written', async () => {
    const { galleryDir, gallery } = newGallery();
    for (const key of ['../evil', '..', 'a/b', 'a\\b', 'x\0y', '', 'k'.repeat(201)]) {
      const err = await failure(run(gallery.shareGallery, share({ idempotencyKey: key })));
      assert.ok(err instanceof ApplicationFailure && err.nonRetryable && err.type === 'InvalidInput', String(err));
      assert.match(err.message, /idempotencyKey/);
      assert.ok(err.message.includes(JSON.stringify(key)));
      const undo = await failure(run(gallery.unpublishGallery, { idempotencyKey: key }));
      assert.ok(isNonRetryable(undo));
    }
    await assert.rejects(readdir(galleryDir), { code: 'ENOENT' });
    await assert.rejects(readdir(path.join(tmp, 'evil')), { code: 'ENOENT' });
  });
});

describe('webhook', () => {
  let receiver: WebhookReceiver;
  /** Answers the status named in the path and echoes the request URL, to prove errors redact it. */
  let statusServer: http.Server;
  let statusUrl: string;

  before(async () => {
    receiver = await startWebhookReceiver({ secret: SECRET });
    statusServer = http.createServer((req, res) => {
      if (req.url?.startsWith('/hang')) return; // never answers
      res.writeHead(Number(req.url?.split('/')[1]?.split('?')[0])).end(`no thanks, ${req.url} with ${SECRET}`);
    });
    await new Promise<void>((resolve) => statusServer.listen(0, '127.0.0.1', resolve));
    statusUrl = `http://127.0.0.1:${(statusServer.address() as AddressInfo).port}`;
  });
  after(async () => {
    await receiver.close();
    statusServer.closeAllConnections();
    statusServer.close();
  });

  const webhook = (url: string, secret = SECRET, timeoutMs?: number) =>
    createWebhookShare({ webhook: { url, secret }, timeoutMs }).shareWebhook;
  /** Errors end up in workflow history: neither the secret nor the URL's path or query may show. */
  const assertRedacted = (err: Error) => {
    for (const secret of [SECRET, '?token', 'tok3n', '/hook-path'])
      assert.ok(!err.message.includes(secret), err.message);
  };

  test('posts a signed message that Slack and Discord accept, once per idempotency key', async () => {
    const input = share({ idempotencyKey: 'photo-1a2b3c4d5e6f-x7k2:webhook', title: 'Sunset <3 @everyone' });
    const first = await run(webhook(receiver.url), input);
    const second = await run(webhook(receiver.url), input);
    assert.deepEqual(first, {
      target: 'webhook',
      location: new URL(receiver.url).origin,
      idempotencyKey: input.idempotencyKey,
      duplicate: false,
    });
    assert.equal(second.duplicate, true);
    assert.equal(receiver.posts.length, 2);
    assert.equal(receiver.accepted.length, 1);

    for (const post of receiver.posts) {
      assert.equal(post.signatureValid, true);
      assert.equal(post.headers['idempotency-key'], input.idempotencyKey);
      assert.equal(post.headers['content-type'], 'application/json');
      // The format the README documents, computed here from scratch, not with the project's own signWebhook: a
      // change to the format on both sides would still fail here (and break every receiver out there).
      const ts = post.headers['x-nano-photos-timestamp'] as string;
      assert.match(ts, /^\d{10}$/, 'unix seconds');
      assert.ok(Math.abs(Number(ts) - Date.now() / 1000) < 60, `timestamp ${ts} is now`);
      const independent = `sha256=${createHmac('sha256', SECRET).update(`${ts}.${post.rawBody}`, 'utf8').digest('hex')}`;
      assert.equal(post.headers['x-nano-photos-signature'], independent);
      assert.equal(verifyWebhook('another-secret', post.headers, post.rawBody), false);
      assert.equal(
        verifyWebhook(
          SECRET,
          { timestamp: ts, signature: post.headers['x-nano-photos-signature'] as string },
          `${post.rawBody} `,
        ),
        false,
      );
    }
    const body = receiver.accepted[0]!.body as Record<string, string>;
    assert.equal(body.username, 'nano-photos');
    for (const text of [body.text!, body.content!]) {
      assert.match(text, /32×24 jpeg/);
      assert.ok(text.includes('grayscale') && text.includes(image.sha256.slice(0, 12)));
    }
    assert.ok(body.text!.includes('Sunset &lt;3') && body.content!.includes('Sunset <3'));
    assert.deepEqual(body.allowed_mentions, { parse: [] });
  });

  test('verifyWebhook accepts what any HMAC-SHA256 implementation of the documented format signs', () => {
    // What a receiver written in another language would send back to check against: hex HMAC of "<ts>.<body>".
    const body = '{"text":"héllo ✓"}';
    const ts = String(Math.floor(Date.now() / 1000));
    const signature = `sha256=${createHmac('sha256', SECRET)
      .update(Buffer.from(`${ts}.${body}`, 'utf8'))
      .digest('hex')}`;
    assert.equal(verifyWebhook(SECRET, { timestamp: ts, signature }, body), true);
    assert.equal(verifyWebhook(SECRET, { timestamp: ts, signature }, Buffer.from(body, 'utf8')), true);
    assert.equal(verifyWebhook(SECRET, { timestamp: String(Number(ts) + 1), signature }, body), false);
    assert.equal(signWebhook(SECRET, ts, body), signature);
  });

  test('an old signature is refused', () => {
    const old = String(Math.floor(Date.now() / 1000) - 3600);
    assert.equal(verifyWebhook(SECRET, { timestamp: old, signature: signWebhook(SECRET, old, '{}') }, '{}'), false);
  });

  test('a failing receiver gives a retryable error; the retry is delivered once', async () => {
    const input = share({ idempotencyKey: 'photo-retry:webhook' });
    receiver.failNext(1);
    const err = await failure(run(webhook(`${receiver.url}?token=tok3n`), input));
    assert.ok(!isNonRetryable(err));
    assert.match(err.message, /500/);
    assertRedacted(err);
    assert.equal((await run(webhook(receiver.url), input)).duplicate, false);
    assert.equal(receiver.accepted.filter((p) => p.idempotencyKey === input.idempotencyKey).length, 1);

    receiver.setMode('fail-500');
    assert.ok(!isNonRetryable(await failure(run(webhook(receiver.url), input))));
    receiver.setMode('down');
    const down = await failure(run(webhook(receiver.url), input));
    assert.ok(!isNonRetryable(down));
    assert.match(down.message, /request failed/);
    receiver.setMode('ok');
  });

  test('a wrong secret is rejected by the receiver for good', async () => {
    const err = await failure(
      run(webhook(receiver.url, 'wrong-secret'), share({ idempotencyKey: 'photo-bad-sig:webhook' })),
    );
    assert.ok(isNonRetryable(err));
    assert.match(err.message, /401/);
    assert.ok(!err.message.includes('wrong-secret'));
  });

  test('4xx is final except 408 and 429; 5xx is retried; the answer is redacted', async () => {
    for (const [status, final] of [
      [400, true],
      [404, true],
      [408, false],
      [429, false],
      [503, false],
    ] as const) {
      const err = await failure(run(webhook(`${statusUrl}/${status}/hook-path?token=tok3n`), share()));
      assert.equal(isNonRetryable(err), final, `${status}: ${err.message}`);
      assert.ok(err.message.includes(String(status)) && err.message.includes(statusUrl), err.message);
      assert.match(err.message, /no thanks/);
      assertRedacted(err);
    }
  });

  test('a receiver that does not answer times out retryably', async () => {
    const err = await failure(run(webhook(`${statusUrl}/hang/hook-path?token=tok3n`, SECRET, 200), share()));
    assert.ok(!isNonRetryable(err));
    assert.match(err.message, /no answer within 200 ms/);
    assertRedacted(err);
  });

  test('an unconfigured worker fails for good, naming the environment variables', async () => {
    const err = await failure(run(createWebhookShare({}).shareWebhook, share()));
    assert.ok(isNonRetryable(err));
    assert.match(err.message, /NANO_PHOTOS_WEBHOOK_URL/);
    assert.match(err.message, /NANO_PHOTOS_WEBHOOK_SECRET/);
    const bad = await failure(run(webhook(`ftp://example.com/hook-path?token=tok3n`), share()));
    assert.ok(isNonRetryable(bad));
    assertRedacted(bad);
  });
});
