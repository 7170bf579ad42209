import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import sharp from 'sharp';
import type { ImageRef, UploadSource } from '../src/common/types';
import type { Resolver } from '../activities/upload/fetch-url';
import { createUploadActivities } from '../activities/upload/upload';
import { PixelBudget } from '../activities/shared/pixel-budget';
import { FileBlobStore } from '../src/lib/blob-store';
import type { UploadLimits } from '../src/lib/config';
import { parseNetwork } from '../src/lib/ip-networks';
import * as images from './support/images';

let tmp: string;
let files: string; // the only allowed root
let server: http.Server;
let base: string;
let closedPort: number;
let photo: Buffer;
/** Paths the test server was asked for, to prove an unsafe SVG or a refused URL made no request. */
const requested: string[] = [];
/** The Host header of each request, in the same order. */
const hosts: string[] = [];

const baseLimits = (): UploadLimits => ({
  maxBytes: 1_000_000,
  maxPixels: 50_000_000,
  fetchTimeoutMs: 5_000,
  maxRedirects: 3,
  pixelBudget: 50_000_000,
  allowedRoots: [files],
  // The test's HTTP server listens on loopback: a deliberate internal source, as NANO_PHOTOS_URL_ALLOW would list.
  allowedNetworks: [parseNetwork('127.0.0.1/32')!],
});

/** Limits to change for one test, and the host name resolver the activity uses. */
type Overrides = Partial<UploadLimits> & { resolve?: Resolver };

/** A mock activity environment that does not log every expected failure as a warning. */
const mockEnv = () => new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });

/** Runs the activity in a mock activity environment, with a fresh blob store so each test sees only its own blobs. */
async function run(source: unknown, { resolve, ...overrides }: Overrides = {}, env = mockEnv()) {
  const blobDir = await mkdtemp(path.join(tmp, 'blobs-'));
  const store = new FileBlobStore(blobDir);
  const { upload } = createUploadActivities({ store, limits: { ...baseLimits(), ...overrides }, resolve });
  try {
    return { ref: await env.run(upload, source as UploadSource), error: undefined, store, blobDir };
  } catch (error) {
    return { ref: undefined, error, store, blobDir };
  }
}

async function accept(source: UploadSource, overrides: Overrides = {}, env?: MockActivityEnvironment) {
  const { ref, error, store } = await run(source, overrides, env);
  if (error) throw error;
  return { ref: ref as ImageRef, store };
}

/** The upload must fail at once (non-retryable InvalidInput) with a message matching `pattern`, storing nothing. */
async function reject(source: unknown, pattern: RegExp, overrides: Overrides = {}) {
  const { error, blobDir } = await run(source, overrides);
  assert.ok(error instanceof ApplicationFailure, `expected an ApplicationFailure, received ${String(error)}`);
  assert.equal(error.nonRetryable, true);
  assert.equal(error.type, 'InvalidInput');
  assert.match(error.message, pattern);
  assert.deepEqual(await readdir(blobDir, { recursive: true }), [], 'nothing may be stored');
  return error;
}

/** The upload must fail with a plain Error, which Temporal retries, storing nothing. */
async function retryable(source: UploadSource, pattern: RegExp, overrides: Overrides = {}) {
  const { error, blobDir } = await run(source, overrides);
  assert.ok(error instanceof Error, `expected an Error, received ${String(error)}`);
  assert.ok(!(error instanceof ApplicationFailure), `expected a plain Error, received ${error.name}: ${error.message}`);
  assert.match(error.message, pattern);
  assert.deepEqual(await readdir(blobDir, { recursive: true }), []);
}

async function file(name: string, data: Buffer | string, dir = files): Promise<string> {
  const target = path.join(dir, name);
  await writeFile(target, data);
  return target;
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'nano-photos-upload-'));
  files = await mkdtemp(path.join(tmp, 'files-'));
  photo = await images.jpeg();
  const big = await images.jpeg({ width: 400, height: 300 });
  server = http.createServer((req, res) => {
    requested.push(req.url ?? '');
    hosts.push(req.headers.host ?? '');
    const redirect = (location: string) => res.writeHead(302, { location }).end();
    switch (req.url) {
      case '/photo.jpg':
        return res.writeHead(200, { 'content-type': 'image/jpeg' }).end(photo);
      case '/hop':
        return redirect('/photo.jpg');
      case '/loop':
        return redirect('/loop');
      case '/to-metadata':
        return redirect('http://169.254.169.254/latest/meta-data/');
      case '/to-internal-name':
        return redirect(`http://intranet.example:${(server.address() as net.AddressInfo).port}/photo.jpg`);
      case '/to-ftp':
        return redirect('ftp://127.0.0.1/photo.jpg');
      case '/big-declared':
        return res.writeHead(200, { 'content-length': big.length }).end(big);
      case '/big-chunked': {
        // No Content-Length: only counting the streamed bytes can catch this one. 1 KiB every millisecond, so the
        // reader sees it arrive in pieces and has to stop part way.
        res.writeHead(200);
        const send = (at: number): void => {
          if (at >= big.length || res.destroyed) return void res.end();
          res.write(big.subarray(at, at + 1024));
          setTimeout(() => send(at + 1024), 1);
        };
        return send(0);
      }
      case '/slow':
        res.writeHead(200);
        return res.write(photo.subarray(0, 100)); // and never finishes
      case '/busy':
        return res.writeHead(429).end();
      case '/broken':
        return res.writeHead(500).end('oops');
      default:
        return res.writeHead(404).end('not here');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  // A port that was just free and is now closed: connecting is refused.
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  closedPort = (probe.address() as net.AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));
});

after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await rm(tmp, { recursive: true, force: true });
});

describe('upload accepts', () => {
  test('a JPEG, stored unchanged under its content hash', async () => {
    const { ref, store } = await accept({ path: await file('photo.jpg', photo) });
    const hash = sha256(photo);
    assert.deepEqual(ref, {
      key: `${hash}.jpg`,
      format: 'jpeg',
      width: 64,
      height: 48,
      channels: 3,
      bytes: photo.length,
      sha256: hash,
    });
    assert.deepEqual(await store.get(ref.key), photo);
  });

  test('an EXIF-rotated JPEG (orientation 6), reporting upright dimensions and keeping the original bytes', async () => {
    const rotated = await images.jpeg({ width: 64, height: 48 }, 6);
    const { ref, store } = await accept({ path: await file('rotated.jpg', rotated) });
    assert.equal(ref.width, 48);
    assert.equal(ref.height, 64);
    assert.equal((await sharp(await store.get(ref.key)).metadata()).orientation, 6);
  });

  test('a CMYK JPEG', async () => {
    const { ref } = await accept({ path: await file('cmyk.jpg', await images.cmykJpeg()) });
    assert.equal(ref.format, 'jpeg');
    assert.equal(ref.channels, 4);
  });

  test('a 16-bit PNG', async () => {
    const { ref, store } = await accept({ path: await file('deep.png', await images.png16()) });
    assert.deepEqual([ref.format, ref.width, ref.height, ref.channels], ['png', 64, 48, 3]);
    assert.match(ref.key, /\.png$/);
    assert.equal((await sharp(await store.get(ref.key)).metadata()).depth, 'ushort');
  });

  test('a PNG with alpha', async () => {
    const { ref } = await accept({ path: await file('alpha.png', await images.pngWithAlpha()) });
    assert.equal(ref.channels, 4);
  });

  test('a grayscale PNG', async () => {
    const { ref } = await accept({ path: await file('grey.png', await images.grayscalePng()) });
    assert.equal(ref.channels, 1);
  });

  test('an animated GIF: first frame dimensions, all frames kept in the stored original', async () => {
    const gif = await images.animated('gif', 3);
    const { ref, store } = await accept({ path: await file('anim.gif', gif) });
    assert.deepEqual([ref.format, ref.width, ref.height], ['gif', 64, 48]);
    assert.match(ref.key, /\.gif$/);
    assert.equal((await sharp(await store.get(ref.key)).metadata()).pages, 3);
  });

  test('WebP, AVIF and TIFF, detected from the content', async () => {
    for (const format of ['webp', 'avif', 'tiff'] as const) {
      const { ref } = await accept({ path: await file(`image-${format}.bin`, await images.encoded(format)) });
      assert.equal(ref.format, format);
      assert.match(ref.key, new RegExp(`\\.${format}$`));
    }
  });

  test('an SVG with only same-document references and an inline raster image', async () => {
    const dot = (await images.png({ width: 2, height: 2 })).toString('base64');
    const body =
      '<defs><linearGradient id="g"><stop offset="0" stop-color="red"/></linearGradient>' +
      '<rect id="r" width="10" height="10"/></defs>' +
      '<rect width="100%" height="100%" style="fill: url(#g)"/><use xlink:href="#r"/><use href="#r" x="20"/>' +
      `<image href="data:image/png;base64,${dot}" width="2" height="2"/>`;
    const { ref } = await accept({ path: await file('drawing.svg', images.svg(body, { width: 120, height: 80 })) });
    assert.deepEqual([ref.format, ref.width, ref.height, ref.channels], ['svg', 120, 80, 4]);
    assert.match(ref.key, /\.svg$/);
  });

  test('a URL (following a redirect), heartbeating; the same bytes by path and by URL give the same key', async () => {
    const env = mockEnv();
    const beats: unknown[] = [];
    env.on('heartbeat', (details: unknown) => beats.push(details));
    const byUrl = await accept({ url: `${base}/hop` }, {}, env);
    assert.equal(byUrl.ref.format, 'jpeg');
    assert.deepEqual(beats.at(-1), { downloadedBytes: photo.length });
    const byPath = await accept({ path: await file('again.jpg', photo) });
    assert.equal(byPath.ref.key, byUrl.ref.key);
  });

  test('a symlink that stays inside the root, and a root that is itself a symlink', async () => {
    const real = await file('real.jpg', photo);
    await symlink(real, path.join(files, 'alias.jpg'));
    const { ref } = await accept({ path: path.join(files, 'alias.jpg') });
    assert.equal(ref.sha256, sha256(photo));
    const linkedRoot = path.join(tmp, 'linked-root');
    await symlink(files, linkedRoot);
    const { ref: viaRoot } = await accept({ path: path.join(linkedRoot, 'real.jpg') }, { allowedRoots: [linkedRoot] });
    assert.equal(viaRoot.sha256, sha256(photo));
  });

  test('the same bytes twice into one store: one key, one blob', async () => {
    const blobDir = await mkdtemp(path.join(tmp, 'blobs-'));
    const { upload } = createUploadActivities({ store: new FileBlobStore(blobDir), limits: baseLimits() });
    const env = mockEnv();
    const first = (await env.run(upload, { path: await file('twice-a.jpg', photo) })) as ImageRef;
    const second = (await env.run(upload, { path: await file('twice-b.jpg', photo) })) as ImageRef;
    assert.equal(first.key, second.key);
    const stored = (await readdir(blobDir, { recursive: true })).filter((name) => name.endsWith('.jpg'));
    assert.equal(stored.length, 1);
  });

  test("eight at once, decoding no more pixels at a time than the worker's budget", async () => {
    const budget = new PixelBudget(2_000_000);
    const store = new FileBlobStore(await mkdtemp(path.join(tmp, 'blobs-')));
    const { upload } = createUploadActivities({ store, limits: baseLimits(), budget });
    const megapixel = await file('megapixel.jpg', await images.jpeg({ width: 1000, height: 1000 }));
    const refs = await Promise.all(Array.from({ length: 8 }, () => mockEnv().run(upload, { path: megapixel })));
    assert.deepEqual(new Set((refs as ImageRef[]).map((ref) => `${ref.width}x${ref.height}`)), new Set(['1000x1000']));
    // Two decodes ran together, never three.
    assert.equal(budget.peak, 2_000_000);
  });
});

describe('upload rejects, non-retryably and storing nothing,', () => {
  test('a source that is not exactly one of {path} or {url}', async () => {
    await reject({}, /expected source to be exactly one of/);
    await reject({ path: '/a.jpg', url: 'http://example.com/a.jpg' }, /exactly one of.*received \{"path"/);
    await reject(null, /exactly one of.*received null/);
    await reject({ path: 42 }, /exactly one of/);
  });

  test('a URL that is not http: or https:', async () => {
    await reject({ url: 'ftp://127.0.0.1/a.jpg' }, /expected url to be an absolute http: or https: URL.*ftp:/);
    await reject({ url: 'file:///etc/passwd' }, /expected url to be .*file:/);
    await reject({ url: 'photo.jpg' }, /expected url to be an absolute/);
  });

  test('a zero-byte file', async () => {
    await reject({ path: await file('empty.jpg', Buffer.alloc(0)) }, /empty \(0 bytes\)/);
  });

  test('a text file named .jpg', async () => {
    await reject({ path: await file('notes.jpg', 'these are not pixels\n'.repeat(10)) }, /not a supported image/);
  });

  test('a truncated JPEG', async () => {
    await reject({ path: await file('cut.jpg', await images.truncatedJpeg()) }, /damaged or incomplete.*premature end/);
  });

  // libvips' stats() let about a third of these through when two decodes ran at once; a worker uploads several.
  // (libvips' warning text may then go to another decode's message, so only the refusal is matched.)
  test('a truncated JPEG, eight uploads at once, every time', async () => {
    const cut = await file('cut-at-once.jpg', await images.truncatedJpeg());
    for (let round = 0; round < 5; round++) {
      await Promise.all(Array.from({ length: 8 }, () => reject({ path: cut }, /damaged or incomplete/)));
    }
  });

  test('a decompression bomb: a tiny PNG whose header claims 100000 x 100000', async () => {
    const bomb = await images.pngClaiming(100_000, 100_000);
    assert.ok(bomb.length < 100);
    await reject({ path: await file('bomb.png', bomb) }, /at most 50000000 pixels \(maxPixels\)/);
  });

  test('a real single-colour 4000 x 4000 PNG of a few KB, over a 1 megapixel limit', async () => {
    const flat = await images.flatPng({ width: 4000, height: 4000 });
    assert.ok(flat.length < 10_000);
    await reject({ path: await file('flat.png', flat) }, /at most 1000000 pixels \(maxPixels\)/, {
      maxPixels: 1_000_000,
    });
  });

  test('an SVG reading a local file: <image href="file:///etc/passwd">', async () => {
    const unsafe = images.svg('<image href="file:///etc/passwd" width="10" height="10"/>');
    await reject({ path: await file('passwd.svg', unsafe) }, /unsafe SVG: found href="file:\/\/\/etc\/passwd"/);
  });

  test('an SVG with an external http reference, without ever requesting it', async () => {
    const unsafe = images.svg(`<image xlink:href="${base}/tracker.png" width="10" height="10"/>`);
    await reject({ path: await file('tracker.svg', unsafe) }, /unsafe SVG: found href="http:/);
    assert.ok(!requested.includes('/tracker.png'));
  });

  test('an SVG with an ENTITY declaration', async () => {
    const prolog = '<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY secret SYSTEM "file:///etc/passwd">]>';
    const unsafe = images.svg('<text y="20">&secret;</text>', undefined, prolog);
    await reject({ path: await file('entity.svg', unsafe) }, /unsafe SVG: found a DOCTYPE declaration/);
  });

  test('SVG references hidden in CSS, escapes, stylesheets, nested documents or gzip', async () => {
    const cases: [string, Buffer, RegExp][] = [
      [
        'css-url',
        images.svg('<rect width="9" height="9" style="fill: url(\'https://example.com/p.svg#x\')"/>'),
        /url\(https:/,
      ],
      [
        'char-ref',
        images.svg('<rect width="9" height="9" style="fill: &#117;rl(/etc/passwd)"/>'),
        /url\(\/etc\/passwd\)/,
      ],
      ['css-escape', images.svg('<style>rect { fill: u\\72l(file:///x) }</style>'), /url\(file:/],
      ['import', images.svg('<style>@import "https://example.com/a.css";</style>'), /@import/],
      ['stylesheet', images.svg('', undefined, '<?xml-stylesheet type="text/css" href="a.css"?>'), /href="a.css"/],
      [
        'nested-svg',
        images.svg('<image href="data:image/svg+xml;base64,PHN2Zy8+" width="9" height="9"/>'),
        /href="data:image\/svg/,
      ],
      ['svgz', gzipSync(images.svg()), /gzip-compressed/],
    ];
    for (const [name, data, pattern] of cases) await reject({ path: await file(`${name}.svg`, data) }, pattern);
  });

  test('a relative path', async () => {
    await reject({ path: 'photos/photo.jpg' }, /expected path to be absolute, received "photos\/photo.jpg"/);
  });

  test("a path with '..' segments, a NUL, or not normalised", async () => {
    await reject({ path: `${files}/../outside.jpg` }, /expected path to contain no '\.\.' segments/);
    await reject({ path: `${files}/photo.jpg\0.png` }, /no NUL characters/);
    await reject({ path: `${files}//photo.jpg` }, /expected path to be normalised/);
  });

  test('a path outside allowedRoots, directly or through a symlink: one answer, whether or not it exists', async () => {
    const elsewhere = await mkdtemp(path.join(tmp, 'elsewhere-'));
    const target = await file('secret.jpg', photo, elsewhere);
    const missing = path.join(elsewhere, 'missing.jpg');
    const outside = (name: string) =>
      new RegExp(
        `^upload: expected path to lie under one of \\[".*"\\] \\(allowedRoots, set by NANO_PHOTOS_UPLOAD_ROOTS ` +
          `on the upload worker\\), received ".*${name}"$`,
      );
    await reject({ path: target }, outside('secret.jpg'));
    await reject({ path: missing }, outside('missing.jpg'));
    // Links inside the root: to an existing file, to a missing one, through a linked folder, past a file.
    await symlink(target, path.join(files, 'link.jpg'));
    await symlink(missing, path.join(files, 'dangling.jpg'));
    await symlink(elsewhere, path.join(files, 'linked-dir'));
    await symlink(path.join(elsewhere, 'gone'), path.join(files, 'dangling-dir'));
    await reject({ path: path.join(files, 'link.jpg') }, outside('link.jpg'));
    await reject({ path: path.join(files, 'dangling.jpg') }, outside('dangling.jpg'));
    await reject({ path: path.join(files, 'linked-dir', 'secret.jpg') }, outside('linked-dir/secret.jpg'));
    await reject({ path: path.join(files, 'linked-dir', 'missing.jpg') }, outside('linked-dir/missing.jpg'));
    await reject({ path: path.join(files, 'dangling-dir', 'x.jpg') }, outside('dangling-dir/x.jpg'));
    await reject({ path: path.join(files, 'link.jpg', 'x.jpg') }, outside('link.jpg/x.jpg'));
  });

  test('a FIFO or a device inside the root, without blocking on it', async () => {
    const fifo = path.join(files, 'pipe.jpg');
    execFileSync('mkfifo', [fifo]);
    await reject({ path: fifo }, /expected path to be a regular file, received ".*pipe\.jpg"/);
    await reject({ path: '/dev/zero' }, /expected path to be a regular file/, { allowedRoots: ['/dev'] });
  });

  test('a missing file, and a directory', async () => {
    await reject({ path: path.join(files, 'nope.jpg') }, /file not found/);
    await reject({ path: files }, /expected path to be a regular file/);
  });

  test('a file larger than maxBytes', async () => {
    const big = await images.jpeg({ width: 400, height: 300 });
    await reject(
      { path: await file('big.jpg', big) },
      new RegExp(`at most 10000 bytes \\(maxBytes\\), received ${big.length} bytes`),
      {
        maxBytes: 10_000,
      },
    );
  });

  test('a URL answering 404', async () => {
    await reject({ url: `${base}/missing.jpg` }, /answered 404 Not Found/);
  });

  test('an unreachable URL (connection refused)', async () => {
    await reject(
      { url: `http://127.0.0.1:${closedPort}/photo.jpg` },
      /^upload: http:\/\/127\.0\.0\.1:\d+\/photo\.jpg is unreachable or not a public address; .*NANO_PHOTOS_URL_ALLOW/,
    );
  });

  test('a redirect loop beyond maxRedirects, and a redirect to another scheme', async () => {
    await reject({ url: `${base}/loop` }, /at most 3 redirects \(maxRedirects\)/);
    await reject({ url: `${base}/to-ftp` }, /redirected to "ftp:.*expected an http: or https: URL/);
  });

  test('an oversized download, declared or streamed', async () => {
    await reject({ url: `${base}/big-declared` }, /at most 10000 bytes \(maxBytes\), received a Content-Length of/, {
      maxBytes: 10_000,
    });
    // Reading stops in the chunk that crosses maxBytes, so at most maxBytes plus that one chunk was held. A chunk is
    // at most one socket read (64 KiB): Node 20 passes the server's 1 KiB writes on nearly as they come, Node 24
    // gathers tens of KiB.
    const chunked = { url: `${base}/big-chunked` };
    const { message } = await reject(chunked, /at most 10000 bytes \(maxBytes\), received \d+ bytes/, {
      maxBytes: 10_000,
    });
    const read = Number(/received (\d+) bytes/.exec(message)![1]);
    assert.ok(read > 10_000 && read <= 10_000 + 64 * 1024, `read ${read} bytes before stopping`);
  });
});

describe('URL uploads reach only public addresses, unless NANO_PHOTOS_URL_ALLOW lists the network', () => {
  /** A resolver answering from a table, counting questions: no test here asks a real DNS server. */
  function resolver(table: Record<string, string[] | string[][]>) {
    const asked: string[] = [];
    const resolve: Resolver = async (host) => {
      const answers = table[host];
      const n = asked.filter((h) => h === host).length;
      asked.push(host);
      if (!answers) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
      // string[][]: a different answer each time the name is asked, as a rebinding DNS server would give.
      const answer = (Array.isArray(answers[0]) ? answers[Math.min(n, answers.length - 1)] : answers) as string[];
      return answer.map((address) => ({ address, family: net.isIP(address) }));
    };
    return { resolve, asked };
  }
  const port = () => new URL(base).port;
  const refusal = (url: string) =>
    new RegExp(`^upload: ${url.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} is unreachable or not a public address; `);
  const nothingAsked = async (work: () => Promise<void>) => {
    const before = requested.length;
    await work();
    assert.equal(requested.length, before, 'no request reached the server');
  };

  test('loopback, private, link-local, CGNAT, multicast and unspecified literals, in every spelling', async () => {
    const literals = [
      `http://127.0.0.1:${port()}/photo.jpg`,
      `http://2130706433:${port()}/photo.jpg`, // 127.0.0.1 as one number
      `http://0x7f.1:${port()}/photo.jpg`,
      `http://[::1]:${port()}/photo.jpg`,
      `http://[::ffff:127.0.0.1]:${port()}/photo.jpg`, // IPv4-mapped
      `http://[::127.0.0.1]:${port()}/photo.jpg`, // IPv4-compatible
      `http://[64:ff9b::7f00:1]:${port()}/photo.jpg`, // NAT64
      'http://10.1.2.3/a.jpg',
      'http://172.16.0.1/a.jpg',
      'http://192.168.1.1/a.jpg',
      'http://169.254.169.254/latest/meta-data/',
      'http://[::ffff:169.254.169.254]/latest/meta-data/',
      'http://100.64.0.1/a.jpg',
      'http://224.0.0.1/a.jpg',
      'http://0.0.0.0/a.jpg',
      'http://[::]/a.jpg',
      'http://[fd12:3456::1]/a.jpg',
      'http://[fe80::1]/a.jpg',
      'http://[ff02::1]/a.jpg',
    ];
    await nothingAsked(async () => {
      for (const url of literals) {
        const { error } = await run({ url }, { allowedNetworks: [] });
        const href = new URL(url).href;
        assert.ok(error instanceof ApplicationFailure && error.nonRetryable, `${url}: ${String(error)}`);
        assert.match(error.message, refusal(href), url);
      }
    });
  });

  test('a host name whose address is internal, and one answering an internal among public addresses', async () => {
    const { resolve } = resolver({
      'photos.example': ['127.0.0.1'],
      'mixed.example': ['93.184.215.14', '10.0.0.7'],
      'v6.example': ['fd00::7'],
    });
    await nothingAsked(async () => {
      const url = `http://photos.example:${port()}/photo.jpg`;
      await reject({ url }, refusal(url), { allowedNetworks: [], resolve });
      await reject({ url: 'http://mixed.example/a.jpg' }, refusal('http://mixed.example/a.jpg'), { resolve });
      await reject({ url: 'http://v6.example/a.jpg' }, refusal('http://v6.example/a.jpg'), { resolve });
    });
  });

  test('the address checked is the address connected: a second, different DNS answer is never used', async () => {
    // A rebinding name: allowed the first time it is asked, the metadata service after that.
    const rebinding = () => resolver({ 'rebind.example': [['127.0.0.1'], ['169.254.169.254']] });
    const first = rebinding();
    const before = hosts.length;
    const { ref } = await accept({ url: `http://rebind.example:${port()}/photo.jpg` }, { resolve: first.resolve });
    assert.equal(ref.sha256, sha256(photo));
    // Asked once, and the connection went to the address that was checked, under the name that was asked for.
    assert.deepEqual(first.asked, ['rebind.example']);
    assert.deepEqual(hosts.slice(before), [`rebind.example:${port()}`]);
    // A redirect to the same name asks again and checks again: the second answer is refused, before connecting.
    const second = rebinding();
    const hop = `http://rebind.example:${port()}/photo.jpg`;
    const requestsBefore = requested.length;
    await reject({ url: `http://rebind.example:${port()}/hop` }, refusal(hop), { resolve: second.resolve });
    assert.deepEqual(second.asked, ['rebind.example', 'rebind.example']);
    assert.deepEqual(requested.slice(requestsBefore), ['/hop'], 'only the first hop reached a server');
  });

  test('every redirect hop is checked: to the metadata service, to a name resolving to a private address', async () => {
    const { resolve } = resolver({ 'intranet.example': ['10.20.30.40'] });
    await reject({ url: `${base}/to-metadata` }, refusal('http://169.254.169.254/latest/meta-data/'), { resolve });
    const hop = `http://intranet.example:${port()}/photo.jpg`;
    await reject({ url: `${base}/to-internal-name` }, refusal(hop), { resolve });
  });

  test('a refused address and one where nothing listens get the same answer: no port probing', async () => {
    const message = async (url: string, overrides: Overrides) => {
      const { error } = await run({ url }, overrides);
      assert.ok(error instanceof ApplicationFailure && error.nonRetryable && error.type === 'InvalidInput');
      return error.message.replace(url, '<url>');
    };
    const listening = `http://127.0.0.1:${port()}/photo.jpg`;
    const closed = `http://127.0.0.1:${closedPort}/photo.jpg`;
    const unknownName = 'http://no-such-host.example/photo.jpg';
    const { resolve } = resolver({});
    const answers = [
      await message(listening, { allowedNetworks: [] }), // refused, although a server is there
      await message(closed, { allowedNetworks: [] }), // refused, nothing there
      await message(closed, {}), // allowed, nothing there
      await message(unknownName, { resolve }), // no such host
    ];
    assert.equal(new Set(answers).size, 1, answers.join('\n'));
  });

  test('an allowed network is fetched from, in its IPv4-mapped spelling too', async () => {
    const { ref } = await accept({ url: `http://[::ffff:127.0.0.1]:${port()}/photo.jpg` });
    assert.equal(ref.sha256, sha256(photo));
    const { resolve } = resolver({ 'images.internal': ['127.0.0.1'] });
    const viaName = await accept(
      { url: `http://images.internal:${port()}/photo.jpg` },
      { resolve, allowedNetworks: [parseNetwork('127.0.0.0/8')!] },
    );
    assert.equal(viaName.ref.sha256, sha256(photo));
  });
});

describe('upload fails retryably', () => {
  test('on a 500 response', async () => {
    await retryable({ url: `${base}/broken` }, /answered 500 Internal Server Error; will retry/);
  });

  test('on a 429 response', async () => {
    await retryable({ url: `${base}/busy` }, /answered 429/);
  });

  test('on a timeout, including while reading the body', async () => {
    await retryable({ url: `${base}/slow` }, /timed out after 300 ms \(fetchTimeoutMs\)/, { fetchTimeoutMs: 300 });
  });
});
