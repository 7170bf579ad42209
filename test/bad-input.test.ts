import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure, decodeRetryState, RetryState } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import { MockActivityEnvironment, type TestWorkflowEnvironment } from '@temporalio/testing';
import sharp from 'sharp';
import { createFilterActivities } from '../activities/filters/activities';
import { createShareActivities } from '../activities/share/activities';
import type { ImageRef } from '../src/common/types';
import { FileBlobStore, FileObjectStore } from '../src/lib/blob-store';
import { loadConfig, type PhotoConfig } from '../src/lib/config';
import { processPhoto } from '../workflows/process-photo';
import { TASK_QUEUES } from '../src/common/task-queues';
import type { ProcessPhotoInput, ProcessPhotoResult } from '../src/common/workflow-io';
import {
  animated,
  cmykJpeg,
  exifGpsTags,
  gpsTaggedJpeg,
  grayscalePng,
  jpeg,
  png16,
  pngClaiming,
  pngWithAlpha,
  solid,
  svg,
  truncatedJpeg,
} from './support/images';
import { tempWorld, withWorkers } from './support/pipeline';
import { timeSkippingEnv } from './support/temporal';
import { startWebhookReceiver, type WebhookReceiver } from './support/webhook-receiver';

/**
 * Bad input, end to end on the time-skipping server with real workers, files, HTTP servers and a webhook receiver:
 * every case fails the run at once, non-retryably, with a message that says what is wrong, and shares nothing. Then
 * unusual but valid images go through the whole pipeline to the gallery and come out right.
 */

const SECRET = 'bad-input-secret';
type Events = temporal.api.history.v1.IHistoryEvent[];
type RGB = [number, number, number];

/** A tiny HTTP server: `/photo.jpg` answers an image, anything else 404; it remembers every path asked for. */
async function startFileServer(photo: Buffer) {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(req.url ?? '');
    if (req.url === '/photo.jpg') res.writeHead(200, { 'content-type': 'image/jpeg' }).end(photo);
    else res.writeHead(404, { 'content-type': 'text/plain' }).end('not here');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close() {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A port on which nothing listens: bound once, then released. */
async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Four solid quadrants, top-left, top-right, bottom-left, bottom-right, as raw pixels ready to encode. */
function quadrants(width: number, height: number, [tl, tr, bl, br]: RGB[]): sharp.Sharp {
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const colour = y < height / 2 ? (x < width / 2 ? tl : tr) : x < width / 2 ? bl : br;
      data.set(colour, (y * width + x) * 3);
    }
  }
  return sharp(data, { raw: { width, height, channels: 3 } });
}

async function rgbPixels(file: Buffer | string) {
  const { data, info } = await sharp(file)
    .removeAlpha()
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  const at = (x: number, y: number): RGB => {
    const i = (y * info.width + x) * info.channels;
    return [data[i], data[i + 1], data[i + 2]];
  };
  return { data, info, at };
}

function assertColour(actual: RGB, expected: RGB, tolerance: number, what: string): void {
  const off = Math.max(...actual.map((v, i) => Math.abs(v - expected[i])));
  assert.ok(off <= tolerance, `${what}: expected about ${JSON.stringify(expected)}, found ${JSON.stringify(actual)}`);
}

/** The activity each ActivityTaskStarted event belongs to, with its attempt. */
function startedActivities(events: Events): { activity: string; attempt: number }[] {
  const typeOf = new Map(
    events
      .filter((e) => e.activityTaskScheduledEventAttributes)
      .map((e) => [Number(e.eventId), e.activityTaskScheduledEventAttributes!.activityType!.name!]),
  );
  return events
    .filter((e) => e.activityTaskStartedEventAttributes)
    .map((e) => ({
      activity: typeOf.get(Number(e.activityTaskStartedEventAttributes!.scheduledEventId)) ?? '?',
      attempt: e.activityTaskStartedEventAttributes!.attempt!,
    }));
}

function innermost(err: Error): Error {
  let e = err;
  while (e.cause instanceof Error) e = e.cause;
  return e;
}

describe('bad input fails at once, non-retryably, and shares nothing', () => {
  let env: TestWorkflowEnvironment;
  let receiver: WebhookReceiver;
  let files: Awaited<ReturnType<typeof startFileServer>>;
  let world: ReturnType<typeof tempWorld>;
  let photo: string;
  let runs = 0;

  before(async () => {
    env = await timeSkippingEnv();
    receiver = await startWebhookReceiver({ secret: SECRET });
    // The file server listens on loopback: a deliberate internal source, allowed as an operator would allow one.
    world = tempWorld({ url: receiver.url, secret: SECRET }, { NANO_PHOTOS_URL_ALLOW: '127.0.0.1/32' });
    const photoBytes = await jpeg({ width: 200, height: 150 });
    photo = path.join(world.dir, 'photo.jpg');
    writeFileSync(photo, photoBytes);
    files = await startFileServer(photoBytes);
  });
  after(async () => {
    await files?.close();
    await receiver?.close();
    await env?.teardown();
    world?.cleanup();
  });

  const write = (name: string, data: Buffer | string) => {
    const file = path.join(world.dir, name);
    writeFileSync(file, data);
    return file;
  };
  const galleryFiles = () => (existsSync(world.config.galleryDir) ? readdirSync(world.config.galleryDir) : []);
  const galleryImages = () => galleryFiles().filter((f) => /\.(jpg|png|webp|avif)$/.test(f));

  const start = (input: ProcessPhotoInput, options: { config?: PhotoConfig; workflowId?: string } = {}) => {
    const workflowId = options.workflowId ?? `bad-${++runs}`;
    const result = withWorkers(env, options.config ?? world.config, () =>
      env.client.workflow.execute(processPhoto, { taskQueue: TASK_QUEUES.workflow, workflowId, args: [input] }),
    );
    return { workflowId, result };
  };

  /**
   * Runs `input` and checks the whole contract: the run failed with a non-retryable error matching `message` (an
   * InvalidInput, or the workflow's ShareFailed naming the target for a share); the failing activity ran exactly
   * once (attempt 1), failed with a non-retryable InvalidInput and was not retried, or, with `activity: 'none'`, no
   * activity was even scheduled; the gallery holds no image and the receiver got no request.
   */
  async function rejects(
    input: ProcessPhotoInput,
    expected: { message: RegExp; activity: string; errorType?: string; config?: PhotoConfig; workflowId?: string },
  ): Promise<void> {
    const postsBefore = receiver.posts.length;
    const { workflowId, result } = start({ share: ['gallery', 'webhook'], ...input }, expected);
    const err = await result.then(
      () => assert.fail('expected the run to fail'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof WorkflowFailedError, `expected WorkflowFailedError, got ${err}`);
    const cause = innermost(err);
    assert.ok(cause instanceof ApplicationFailure, `expected an ApplicationFailure, got ${cause}`);
    assert.equal(cause.type, expected.errorType ?? 'InvalidInput');
    assert.equal(cause.nonRetryable, true);
    assert.match(cause.message, expected.message);

    const events = (await env.client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
    if (expected.activity === 'none') {
      assert.ok(
        !events.some((e) => e.activityTaskScheduledEventAttributes),
        'the workflow rejected it before any service ran',
      );
    } else {
      const started = startedActivities(events);
      assert.deepEqual(
        started.filter((s) => s.activity === expected.activity),
        [{ activity: expected.activity, attempt: 1 }],
      );
      assert.deepEqual(started.at(-1), { activity: expected.activity, attempt: 1 }, 'nothing ran after the failure');
      const failures = events
        .filter((e) => e.activityTaskFailedEventAttributes)
        .map((e) => e.activityTaskFailedEventAttributes!);
      assert.equal(failures.length, 1, 'one failed activity task');
      assert.equal(failures[0].failure?.applicationFailureInfo?.type, 'InvalidInput');
      assert.equal(failures[0].failure?.applicationFailureInfo?.nonRetryable, true);
      assert.equal(decodeRetryState(failures[0].retryState), RetryState.NON_RETRYABLE_FAILURE);
      if (!expected.errorType) {
        // The activity's own failure is what the run failed with (a share failure is summed up as ShareFailed).
        assert.ok(err.cause instanceof ActivityFailure, `expected an ActivityFailure, got ${err.cause}`);
        assert.equal(err.cause.activityType, expected.activity);
      }
    }
    assert.deepEqual(galleryImages(), [], 'nothing was published to the gallery');
    assert.equal(receiver.posts.length, postsBefore, 'the webhook receiver got no request');
  }

  it('a zero-byte file', async () => {
    await rejects(
      { source: { path: write('empty.jpg', Buffer.alloc(0)) } },
      { activity: 'upload', message: /the file is empty \(0 bytes\)/ },
    );
  });

  it('a text file named .jpg', async () => {
    await rejects(
      { source: { path: write('notes.jpg', 'Shopping list: milk, eggs, bread.\n'.repeat(20)) } },
      { activity: 'upload', message: /not a supported image/ },
    );
  });

  it('a truncated JPEG', async () => {
    await rejects(
      { source: { path: write('cut.jpg', await truncatedJpeg()) }, filters: [{ filter: 'sepia' }] },
      { activity: 'upload', message: /damaged or incomplete and cannot be decoded/ },
    );
  });

  it('a decompression bomb: a small file claiming 50000 x 50000 pixels', async () => {
    const bomb = await pngClaiming(50_000, 50_000);
    assert.ok(bomb.length < 1024, `the bomb is ${bomb.length} bytes`);
    await rejects(
      { source: { path: write('bomb.png', bomb) }, filters: [{ filter: 'grayscale' }] },
      {
        activity: 'upload',
        message: /expected an image of at most 100000000 pixels \(maxPixels\); its header claims more/,
      },
    );
  });

  it('an SVG that references a local file', async () => {
    const local = write('inside.png', await solid({ width: 8, height: 8 }).png().toBuffer());
    await rejects(
      { source: { path: write('local.svg', svg(`<image href="file://${local}" width="64" height="48"/>`)) } },
      { activity: 'upload', message: /unsafe SVG: found href="file:\/\/.*inside\.png"/ },
    );
  });

  it('an SVG that references a URL, which is never fetched', async () => {
    const before = files.requests.length;
    await rejects(
      {
        source: {
          path: write('remote.svg', svg(`<image xlink:href="${files.base}/photo.jpg" width="64" height="48"/>`)),
        },
      },
      { activity: 'upload', message: /unsafe SVG: found href="http:\/\/127\.0\.0\.1:\d+\/photo\.jpg"/ },
    );
    assert.equal(files.requests.length, before, 'nothing asked the server for the referenced image');
  });

  it('an unknown filter', async () => {
    await rejects(
      { source: { path: photo }, filters: [{ filter: 'resize', params: { width: 100 } }, { filter: 'vignette' }] },
      { activity: 'none', message: /filters\[1\]: unknown filter "vignette"; expected one of resize, crop/ },
    );
  });

  it('out-of-range parameters', async () => {
    await rejects(
      { source: { path: photo }, filters: [{ filter: 'resize', params: { width: 0 } }] },
      {
        activity: 'none',
        message: /resize: expected width to be an integer between 1 and 16384, received 0 \(number\)/,
      },
    );
    await rejects(
      {
        source: { path: photo },
        filters: [{ filter: 'sepia' }, { filter: 'output', params: { format: 'jpeg', quality: 101 } }],
      },
      { activity: 'none', message: /output: expected quality to be an integer between 1 and 100, received 101/ },
    );
  });

  it('an unknown place for intermediates', async () => {
    await rejects(
      { source: { path: photo }, filters: [{ filter: 'sepia' }], intermediates: 'disk' as 'memory' },
      { activity: 'none', message: /expected intermediates to be "store" or "memory", received "disk"/ },
    );
  });

  it('a chain that would make an image over the pixel limit, whatever the upload: refused before any service', async () => {
    // The case: a 48 x 48 PNG blown up to 16384 x 16384, then sepia. It once held 2.5 GB and retried.
    const tiny = write('tiny.png', await solid({ width: 48, height: 48 }).png().toBuffer());
    await rejects(
      {
        source: { path: tiny },
        filters: [{ filter: 'resize', params: { width: 16384, height: 16384, fit: 'fill' } }, { filter: 'sepia' }],
      },
      { activity: 'none', message: /^filters\[0\]: resize would make a 16384x16384 image \(268435456 pixels\)/ },
    );
  });

  it('a chain too large for the uploaded size: refused once the upload measured it, before any filter', async () => {
    const tiny = write('tiny-too.png', await solid({ width: 48, height: 48 }).png().toBuffer());
    const { workflowId, result } = start({
      source: { path: tiny },
      filters: [{ filter: 'resize', params: { width: 16000 } }, { filter: 'sepia' }],
      share: ['gallery'],
    });
    await assert.rejects(result, (err: unknown) => {
      assert.ok(err instanceof WorkflowFailedError);
      const cause = innermost(err);
      assert.ok(cause instanceof ApplicationFailure && cause.type === 'InvalidInput' && cause.nonRetryable);
      assert.match(cause.message, /^filters\[0\]: resize would make a 16000x16000 image .* from the 48x48 upload/);
      return true;
    });
    const events = (await env.client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
    assert.deepEqual(startedActivities(events), [{ activity: 'upload', attempt: 1 }], 'only the upload ran');
    assert.deepEqual(galleryImages(), []);
  });

  it('a source path with ".." segments, even one that leads back to a real photo', async () => {
    const sneaky = `${world.dir}/../${path.basename(world.dir)}/photo.jpg`;
    assert.ok(existsSync(sneaky), 'the path does name a readable photo');
    await rejects(
      { source: { path: sneaky } },
      { activity: 'upload', message: /expected path to contain no '\.\.' segments/ },
    );
  });

  it('a crafted workflow ID is refused before any service runs, so its keys never name a file or a header', async () => {
    // The ID becomes the idempotency key `<workflow id>:<target>`: a gallery file name and a webhook header.
    await rejects(
      { source: { path: photo }, filters: [{ filter: 'grayscale' }] },
      {
        activity: 'none',
        workflowId: '../../escaped',
        message: /expected the workflow ID to be 1-200 letters, digits, .*received "\.\.\/\.\.\/escaped"/,
      },
    );
    // Where a key used as a path would have led: the data folder and the folder above it.
    for (const dir of [path.resolve(world.config.galleryDir, '..'), path.resolve(world.config.galleryDir, '../..')]) {
      assert.deepEqual(
        readdirSync(dir).filter((f) => f.includes('escaped')),
        [],
        `nothing written to ${dir}`,
      );
    }
    assert.deepEqual(
      galleryFiles().filter((f) => f !== 'index.html'),
      [],
    );
  });

  it('a crafted image key, handed straight to the filter and gallery services', async () => {
    // The workflow only passes keys the upload service made; a hand-made activity input is checked all the same.
    const store = new FileBlobStore(world.config.blobDir);
    const crafted: ImageRef = {
      key: '../../../../etc/passwd',
      format: 'png',
      width: 8,
      height: 8,
      channels: 3,
      bytes: 1,
      sha256: 'x',
    };
    const activityEnv = new MockActivityEnvironment();
    const invalid = (pattern: RegExp) => (err: unknown) => {
      assert.ok(err instanceof ApplicationFailure && err.type === 'InvalidInput' && err.nonRetryable, `got ${err}`);
      assert.match(err.message, pattern);
      return true;
    };
    const { sepia } = createFilterActivities({ store });
    await assert.rejects(
      activityEnv.run(sepia, { image: crafted }),
      invalid(/image\.key: blob key must look like <sha256>\.<ext>/),
    );
    const { shareGallery } = createShareActivities({ store, gallery: new FileObjectStore(world.config.galleryDir) });
    await assert.rejects(
      activityEnv.run(shareGallery, { image: crafted, idempotencyKey: 'crafted:gallery', title: 'x', filters: [] }),
      invalid(/shareGallery: image\.key: blob key must look like <sha256>\.<ext>/),
    );
    assert.deepEqual(galleryImages(), []);
  });

  it('an unreachable URL', async () => {
    const port = await closedPort();
    await rejects(
      { source: { url: `http://127.0.0.1:${port}/photo.jpg` } },
      {
        activity: 'upload',
        message: new RegExp(`http://127\\.0\\.0\\.1:${port}/photo\\.jpg is unreachable or not a public address`),
      },
    );
  });

  it('a URL on loopback, on a worker that does not allow it: refused like an unreachable one, never requested', async () => {
    const config = { ...world.config, upload: { ...world.config.upload, allowedNetworks: [] } };
    const before = files.requests.length;
    await rejects(
      { source: { url: `${files.base}/photo.jpg` } },
      {
        activity: 'upload',
        config,
        message: /127\.0\.0\.1:\d+\/photo\.jpg is unreachable or not a public address; .*NANO_PHOTOS_URL_ALLOW/,
      },
    );
    assert.equal(files.requests.length, before, 'the file server was never asked');
  });

  it('a URL that answers 404', async () => {
    await rejects(
      { source: { url: `${files.base}/missing.jpg` } },
      { activity: 'upload', message: /missing\.jpg answered 404 Not Found; expected 200 OK/ },
    );
    assert.ok(files.requests.filter((r) => r === '/missing.jpg').length === 1, 'asked once, not retried');
  });

  it('a file over NANO_PHOTOS_MAX_UPLOAD_BYTES', async () => {
    const config = {
      ...loadConfig({
        NANO_PHOTOS_DATA_DIR: world.dir,
        NANO_PHOTOS_UPLOAD_ROOTS: world.dir,
        NANO_PHOTOS_URL_ALLOW: '127.0.0.1/32',
        NANO_PHOTOS_MAX_UPLOAD_BYTES: '4096',
      }),
      webhook: world.config.webhook,
    };
    const size = readFileSync(photo).length;
    assert.ok(size > 4096, `the photo is ${size} bytes`);
    await rejects(
      { source: { path: photo } },
      {
        activity: 'upload',
        config,
        message: new RegExp(`expected a file of at most 4096 bytes \\(maxBytes\\), received ${size} bytes`),
      },
    );
    // The same limit holds for downloads.
    await rejects(
      { source: { url: `${files.base}/photo.jpg` } },
      { activity: 'upload', config, message: /expected a download of at most 4096 bytes \(maxBytes\)/ },
    );
  });

  it('leaves the workers healthy: a good run succeeds afterwards, shares, and records its output in the memo', async () => {
    const postsBefore = receiver.posts.length;
    const { workflowId, result } = start({
      source: { path: photo },
      filters: [{ filter: 'sepia' }],
      share: ['gallery', 'webhook'],
    });
    const done = await result;
    assert.equal(done.output.format, 'jpeg');
    assert.equal(galleryImages().length, 1);
    assert.equal(receiver.posts.length, postsBefore + 1);
    assert.ok(receiver.posts.at(-1)!.signatureValid);
    // A new run takes the memo-records-output path (old histories replay without it: test/replay.test.ts).
    const { memo } = await env.client.workflow.getHandle(workflowId).describe();
    assert.deepEqual(memo?.output, done.output);
  });
});

describe('unusual but valid images go through the whole pipeline to the gallery', () => {
  let env: TestWorkflowEnvironment;
  let receiver: WebhookReceiver;
  let world: ReturnType<typeof tempWorld>;
  let runs = 0;

  before(async () => {
    env = await timeSkippingEnv();
    receiver = await startWebhookReceiver({ secret: SECRET });
    world = tempWorld({ url: receiver.url, secret: SECRET });
  });
  after(async () => {
    await receiver?.close();
    await env?.teardown();
    world?.cleanup();
  });

  /** Uploads `data` as `name`, runs the filters, shares to the gallery; returns the result and the published file. */
  async function publish(
    name: string,
    data: Buffer,
    filters: ProcessPhotoInput['filters'] = [],
    extra: Partial<ProcessPhotoInput> = {},
  ) {
    const file = path.join(world.dir, name);
    writeFileSync(file, data);
    const result: ProcessPhotoResult = await withWorkers(env, world.config, () =>
      env.client.workflow.execute(processPhoto, {
        taskQueue: TASK_QUEUES.workflow,
        workflowId: `valid-${++runs}`,
        args: [{ source: { path: file }, filters, share: ['gallery'], ...extra }],
      }),
    );
    const gallery = result.shares.find((s) => s.target === 'gallery');
    assert.ok(gallery, 'shared to the gallery');
    assert.equal(path.dirname(gallery.location), world.config.galleryDir);
    const published = readFileSync(gallery.location);
    assert.equal(
      (await sharp(published).metadata()).format,
      result.output.format,
      'the gallery file is the encoded output',
    );
    return { result, published };
  }

  it('an EXIF-rotated JPEG comes out upright', async () => {
    const red: RGB = [255, 0, 0],
      green: RGB = [0, 255, 0],
      blue: RGB = [0, 0, 255],
      white: RGB = [255, 255, 255];
    // Stored 64 x 48 with orientation 6: shown turned 90 degrees clockwise, 48 x 64.
    const stored = await quadrants(64, 48, [red, green, blue, white])
      .jpeg({ quality: 95 })
      .withMetadata({ orientation: 6 })
      .toBuffer();
    const { result, published } = await publish('rotated.jpg', stored, [
      { filter: 'resize', params: { width: 24 } },
      { filter: 'output', params: { format: 'png' } },
    ]);
    assert.deepEqual([result.original.width, result.original.height], [48, 64], 'the original is measured upright');
    assert.deepEqual([result.output.width, result.output.height], [24, 32]);
    const { info, at } = await rgbPixels(published);
    assert.deepEqual([info.width, info.height], [24, 32]);
    assert.equal((await sharp(published).metadata()).orientation, undefined, 'no orientation tag left to apply twice');
    // Turned clockwise: the stored left column is now the top row.
    assertColour(at(6, 8), blue, 40, 'top left (stored bottom left)');
    assertColour(at(18, 8), red, 40, 'top right (stored top left)');
    assertColour(at(6, 24), white, 40, 'bottom left (stored bottom right)');
    assertColour(at(18, 24), green, 40, 'bottom right (stored top right)');
  });

  it('a CMYK JPEG comes out as sRGB with its colour', async () => {
    const cmyk = await solid({ width: 64, height: 48 }, '#336699')
      .toColourspace('cmyk')
      .jpeg({ quality: 95 })
      .toBuffer();
    assert.equal((await sharp(cmyk).metadata()).space, 'cmyk');
    assert.equal((await sharp(await cmykJpeg()).metadata()).space, 'cmyk');
    const { result, published } = await publish('print.jpg', cmyk, [{ filter: 'resize', params: { width: 32 } }]);
    assert.equal(result.output.format, 'jpeg');
    const meta = await sharp(published).metadata();
    assert.equal(meta.space, 'srgb');
    assert.equal(meta.channels, 3);
    const { at } = await rgbPixels(published);
    assertColour(at(16, 12), [0x33, 0x66, 0x99], 16, 'the colour survives the CMYK round trip');
  });

  it('a 16-bit PNG', async () => {
    const deep = await solid({ width: 64, height: 48 }, '#336699').toColourspace('rgb16').png().toBuffer();
    assert.equal((await sharp(deep).metadata()).depth, 'ushort');
    assert.equal((await sharp(await png16()).metadata()).depth, 'ushort');
    const { result, published } = await publish('deep.png', deep, [{ filter: 'flop' }]);
    assert.equal(result.output.format, 'png');
    assert.deepEqual([result.output.width, result.output.height], [64, 48]);
    const { at } = await rgbPixels(published);
    assertColour(at(32, 24), [0x33, 0x66, 0x99], 2, '16-bit colour reduced to 8 bits');
  });

  it('a PNG with alpha keeps its alpha channel in a PNG output', async () => {
    const input = await pngWithAlpha();
    const alphaOf = (image: Buffer) => sharp(image).extractChannel(3).raw().toBuffer();
    const inputAlpha = await alphaOf(input);
    assert.ok(
      inputAlpha.some((a) => a < 255),
      'the input is partly transparent',
    );
    const { result, published } = await publish('alpha.png', input, [{ filter: 'sepia' }]);
    assert.equal(result.output.format, 'png');
    assert.equal(result.output.channels, 4);
    assert.ok((await alphaOf(published)).equals(inputAlpha), 'alpha unchanged, pixel for pixel');
  });

  it('a greyscale PNG', async () => {
    const input = await grayscalePng();
    assert.equal((await sharp(input).metadata()).channels, 1);
    const { result, published } = await publish('grey.png', input, [{ filter: 'flip' }]);
    assert.deepEqual([result.output.width, result.output.height], [64, 48]);
    const { data, info } = await rgbPixels(published);
    const expected = await sharp(input).flip().extractChannel(0).raw().toBuffer();
    for (let i = 0; i < info.width * info.height; i++) {
      const [r, g, b] = data.subarray(i * 3, i * 3 + 3);
      assert.ok(r === g && g === b, `pixel ${i} is grey`);
      assert.equal(r, expected[i], `pixel ${i} is the input's, flipped`);
    }
  });

  for (const format of ['gif', 'webp'] as const) {
    it(`an animated ${format.toUpperCase()} uses its first frame`, async () => {
      const input = await animated(format, 3, { width: 64, height: 48 });
      assert.equal((await sharp(input).metadata()).pages, 3);
      const { result, published } = await publish(`animated.${format}`, input, [
        { filter: 'resize', params: { width: 32 } },
      ]);
      assert.deepEqual([result.original.width, result.original.height], [64, 48], 'one frame, not the strip of three');
      const meta = await sharp(published, { animated: true }).metadata();
      assert.equal(meta.pages ?? 1, 1, 'a single frame');
      assert.deepEqual([meta.width, meta.height], [32, 24]);
      const { at } = await rgbPixels(published);
      for (const [x, y] of [
        [1, 1],
        [16, 12],
        [30, 22],
      ])
        assertColour(at(x, y), [255, 0, 0], 24, `pixel ${x},${y} is the first frame's red`);
    });
  }

  it('a GPS-tagged photo is published without its EXIF: no location, no camera, in every output format', async () => {
    const tagged = await gpsTaggedJpeg({ width: 64, height: 48 });
    const input = await sharp(tagged).metadata();
    assert.deepEqual(exifGpsTags(input.exif), [1, 2, 3, 4], 'the input carries a GPS position');
    assert.ok(tagged.includes('NanoPhone'), 'and its camera make');
    // The check below can see GPS where an encoder keeps it: sharp re-encoding with keepMetadata() does.
    const kept = await sharp(tagged).keepMetadata().png().toBuffer();
    assert.deepEqual(exifGpsTags((await sharp(kept).metadata()).exif), [1, 2, 3, 4]);
    for (const [name, filters] of [
      ['no filters', []],
      ['resize', [{ filter: 'resize', params: { width: 32 } }]],
      ['webp', [{ filter: 'output', params: { format: 'webp' } }]],
      ['png', [{ filter: 'sepia' }, { filter: 'output', params: { format: 'png' } }]],
    ] as const) {
      const { published } = await publish(`gps-${name}.jpg`, tagged, [...filters]);
      const meta = await sharp(published).metadata();
      assert.equal(meta.exif, undefined, `${name}: no EXIF block`);
      assert.deepEqual(exifGpsTags(meta.exif), []);
      assert.equal(meta.xmp, undefined, `${name}: no XMP`);
      assert.equal(meta.iptc, undefined, `${name}: no IPTC`);
      assert.ok(!published.includes('NanoPhone') && !published.includes('Exif\0\0'), `${name}: no EXIF bytes at all`);
    }
  });

  it('a title with "../" is published inside the gallery folder, named by key', async () => {
    const title = '../../../outside/evil';
    const { result } = await publish('plain.jpg', await jpeg(), [{ filter: 'grayscale' }], { title });
    const location = result.shares[0].location;
    assert.ok(!path.relative(world.config.galleryDir, location).startsWith('..'));
    assert.ok(!path.basename(location).includes('evil'), 'the file name comes from the key, not the title');
    assert.ok(!existsSync(path.resolve(world.config.galleryDir, title)), 'nothing where the title points');
    for (const f of readdirSync(world.config.galleryDir)) assert.ok(!f.includes('evil'), `gallery file ${f}`);
    const sidecar = readdirSync(world.config.galleryDir).find(
      (f) => f === `${path.basename(location).replace(/\.[a-z]+$/, '')}.json`,
    );
    assert.ok(sidecar, 'the entry sidecar sits next to the image');
    assert.equal(
      JSON.parse(readFileSync(path.join(world.config.galleryDir, sidecar), 'utf8')).title,
      title,
      'the title is kept as text',
    );
  });
});
