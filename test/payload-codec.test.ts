import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { Client, WorkflowFailedError } from '@temporalio/client';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { processPhoto } from '../workflows/process-photo';
import { TASK_QUEUES } from '../src/common/task-queues';
import { createCodecServer } from '../src/lib/codec-server';
import { loadConfig } from '../src/lib/config';
import { devServerArgs } from '../src/lib/dev-server';
import {
  AesGcmCodec,
  dataConverterFor,
  ENCRYPTED_ENCODING,
  KEY_ID_METADATA,
  parseCodecKeys,
} from '../src/lib/payload-codec';
import { projectRoot } from '../src/lib/project-root';
import { jpeg } from './support/images';
import { tempWorld, withWorkers } from './support/pipeline';
import { timeSkippingEnv } from './support/temporal';

const newKey = () => randomBytes(32).toString('base64');
const SECRET_TITLE = 'Our secret beach, 48.8584 N 2.2945 E';

/** Every payload in a value (a history, a codec answer): objects with a `data` byte array. */
function payloadsIn(node: unknown, found: Payload[] = []): Payload[] {
  if (!node || typeof node !== 'object') return found;
  if ((node as Payload).data instanceof Uint8Array) found.push(node as Payload);
  for (const value of Object.values(node)) payloadsIn(value, found);
  return found;
}

/** A history as the server stores it, as bytes and text, to search for anything readable. */
function everythingIn(history: unknown): string {
  const bytes = payloadsIn(history).map((p) => Buffer.from(p.data!).toString('latin1'));
  return JSON.stringify(history) + bytes.join('\n');
}

describe('the payload codec (AES-256-GCM, key id in the metadata)', () => {
  const value = { title: SECRET_TITLE, source: { path: '/home/me/beach.jpg' } };
  const plain = [defaultPayloadConverter.toPayload(value)];
  /** What a decoded payload stands for, as the SDK reads it. */
  const read = (payloads: Payload[]) => payloads.map((p) => defaultPayloadConverter.fromPayload(p));

  it('encrypts so that nothing is readable, names its key, and decrypts to the same payload', async () => {
    const codec = new AesGcmCodec(parseCodecKeys('K', `2025-11:${newKey()}`));
    const [sealed] = await codec.encode(plain);
    assert.equal(Buffer.from(sealed.metadata!.encoding).toString(), ENCRYPTED_ENCODING);
    assert.equal(Buffer.from(sealed.metadata![KEY_ID_METADATA]).toString(), '2025-11');
    assert.ok(!Buffer.from(sealed.data!).toString('latin1').includes('secret beach'));
    assert.deepEqual(read(await codec.decode([sealed])), [value]);
    // A fresh nonce each time: the same payload never looks the same twice.
    const [again] = await codec.encode(plain);
    assert.ok(!Buffer.from(again.data!).equals(Buffer.from(sealed.data!)));
  });

  it('rotates keys: new payloads use the first key, older ones are read with the keys after it', async () => {
    const [oldKey, nextKey] = [newKey(), newKey()];
    const before = new AesGcmCodec(parseCodecKeys('K', `old:${oldKey}`));
    const after = new AesGcmCodec(parseCodecKeys('K', `new:${nextKey},old:${oldKey}`));
    const written = await before.encode(plain);
    assert.deepEqual(read(await after.decode(written)), [value]);
    const [rewritten] = await after.encode(plain);
    assert.equal(Buffer.from(rewritten.metadata![KEY_ID_METADATA]).toString(), 'new');
    await assert.rejects(
      before.decode([rewritten]),
      /encrypted with key "new", which NANO_PHOTOS_CODEC_KEYS does not list \(it lists old\)/,
    );
  });

  it('refuses an altered payload, and passes through payloads that were never encrypted', async () => {
    const codec = new AesGcmCodec(parseCodecKeys('K', `k:${newKey()}`));
    const [sealed] = await codec.encode(plain);
    const data = Buffer.from(sealed.data!);
    data[20] ^= 1;
    await assert.rejects(codec.decode([{ ...sealed, data }]), /unable to authenticate|auth/i);
    assert.deepEqual(await codec.decode(plain), plain);
  });

  it('NANO_PHOTOS_CODEC_KEYS: off when unset; a clear error for a malformed key list', () => {
    assert.equal(loadConfig({}).codecKeys, undefined);
    assert.equal(dataConverterFor(undefined), undefined);
    const on = loadConfig({ NANO_PHOTOS_CODEC_KEYS: `a:${newKey()},b:${newKey()}`, NANO_PHOTOS_CODEC_PORT: '9123' });
    assert.equal(on.codecKeys?.current, 'a');
    // npm run server then points its Web UI at the codec server.
    assert.equal(on.localServer.uiCodecEndpoint, 'http://127.0.0.1:9123');
    const args = devServerArgs({ port: 7233, uiPort: 8233, uiCodecEndpoint: on.localServer.uiCodecEndpoint });
    assert.equal(args[args.indexOf('--ui-codec-endpoint') + 1], 'http://127.0.0.1:9123');
    assert.ok(!devServerArgs({ port: 7233, uiPort: 8233 }).includes('--ui-codec-endpoint'));
    const short = Buffer.alloc(16).toString('base64');
    for (const bad of [`a:${short}`, 'a', `a:${newKey()},a:${newKey()}`, `bad id:${newKey()}`, `a:${newKey()}:x`]) {
      assert.throws(
        () => loadConfig({ NANO_PHOTOS_CODEC_KEYS: bad }),
        /^Error: NANO_PHOTOS_CODEC_KEYS: expected comma-separated, distinct <key id>:<32 random bytes in base64>/,
      );
    }
  });
});

describe('the codec server for the Web UI', () => {
  const uiOrigin = 'http://127.0.0.1:8233';
  const codec = new AesGcmCodec(parseCodecKeys('K', `k:${newKey()}`));
  let base: string;
  const server = createCodecServer(codec, uiOrigin);
  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise((resolve) => server.close(resolve)));

  const asJson = (p: Payload) => ({
    metadata: Object.fromEntries(
      Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
    ),
    data: Buffer.from(p.data ?? []).toString('base64'),
  });

  it('decodes for the Web UI, answering its CORS preflight', async () => {
    const preflight = await fetch(`${base}/decode`, {
      method: 'OPTIONS',
      headers: {
        origin: uiOrigin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'x-namespace',
      },
    });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get('access-control-allow-origin'), uiOrigin);
    assert.match(preflight.headers.get('access-control-allow-headers') ?? '', /x-namespace/);

    const sealed = await codec.encode([defaultPayloadConverter.toPayload(SECRET_TITLE)]);
    const response = await fetch(`${base}/decode`, {
      method: 'POST',
      headers: { origin: uiOrigin, 'content-type': 'application/json', 'x-namespace': 'default' },
      body: JSON.stringify({ payloads: sealed.map(asJson) }),
    });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('access-control-allow-origin'), uiOrigin);
    const { payloads } = (await response.json()) as { payloads: { metadata: Record<string, string>; data: string }[] };
    assert.equal(Buffer.from(payloads[0].metadata.encoding, 'base64').toString(), 'json/plain');
    assert.equal(JSON.parse(Buffer.from(payloads[0].data, 'base64').toString()), SECRET_TITLE);
  });

  it('refuses every other origin, so another web page in the browser cannot decrypt with it', async () => {
    const sealed = await codec.encode([defaultPayloadConverter.toPayload(SECRET_TITLE)]);
    for (const origin of ['http://evil.example', 'http://127.0.0.1:9999', 'null']) {
      const response = await fetch(`${base}/decode`, {
        method: 'POST',
        headers: { origin, 'content-type': 'application/json' },
        body: JSON.stringify({ payloads: sealed.map(asJson) }),
      });
      assert.equal(response.status, 403, origin);
      assert.equal(response.headers.get('access-control-allow-origin'), null);
      assert.ok(!(await response.text()).includes('secret'));
    }
  });

  it('npm run codec-server refuses to start while encryption is off', async () => {
    const run = promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/bin/codec-server.ts'], {
      cwd: projectRoot,
      env: { ...process.env, NANO_PHOTOS_CODEC_KEYS: '' },
    });
    await assert.rejects(run, (err: { code: number; stderr: string }) => {
      assert.equal(err.code, 1);
      assert.match(err.stderr, /NANO_PHOTOS_CODEC_KEYS is not set: payloads are not encrypted/);
      return true;
    });
  });
});

describe('runs with encryption on and off, on the time-skipping server', () => {
  let env: TestWorkflowEnvironment;
  const keys = `k1:${newKey()}`;
  const worlds: ReturnType<typeof tempWorld>[] = [];
  before(async () => {
    env = await timeSkippingEnv();
  });
  after(async () => {
    await env?.teardown();
    for (const w of worlds) w.cleanup();
  });

  /** A good run and a failing one (the file is missing); answers each run's history as the server stores it. */
  async function runBoth(settings: NodeJS.ProcessEnv, tag: string) {
    const world = tempWorld(undefined, settings);
    worlds.push(world);
    const photo = path.join(world.dir, 'private-beach.jpg');
    writeFileSync(photo, await jpeg());
    const client = new Client({ connection: env.connection, dataConverter: dataConverterFor(world.config.codecKeys) });
    const start = (id: string, file: string) =>
      client.workflow.execute(processPhoto, {
        taskQueue: TASK_QUEUES.workflow,
        workflowId: id,
        args: [{ source: { path: file }, title: SECRET_TITLE, filters: [{ filter: 'flip' }], share: ['gallery'] }],
      });
    const result = await withWorkers(env, world.config, async () => {
      const done = await start(`${tag}-ok`, photo);
      await assert.rejects(start(`${tag}-missing`, path.join(world.dir, 'missing-beach.jpg')), (err: unknown) => {
        assert.ok(err instanceof WorkflowFailedError);
        return true;
      });
      return done;
    });
    const history = async (id: string) => everythingIn(await env.client.workflow.getHandle(id).fetchHistory());
    return { result, world, ok: await history(`${tag}-ok`), failed: await history(`${tag}-missing`) };
  }

  it('off (the default): titles and paths are readable in the server’s history', async () => {
    const { ok, failed } = await runBoth({}, 'plain');
    assert.ok(ok.includes(SECRET_TITLE) && ok.includes('private-beach.jpg'));
    assert.ok(failed.includes('missing-beach.jpg'), 'the failure names the path');
  });

  it('on: the run works, and neither its history nor a failure’s shows a title or a path', async () => {
    const { result, world, ok, failed } = await runBoth({ NANO_PHOTOS_CODEC_KEYS: keys }, 'sealed');
    assert.equal(result.output.width, 64, 'the client decoded the result');
    assert.ok(result.shares[0].location.startsWith(world.config.galleryDir));
    for (const [name, text] of [
      ['the good run', ok],
      ['the failed run', failed],
    ]) {
      for (const secret of ['secret beach', 'private-beach', 'missing-beach', world.dir]) {
        assert.ok(!text.includes(secret), `${name}: "${secret}" is readable in the history`);
      }
    }
    // Only search attributes stay plain (the server indexes them): filter names, targets, hashes, steps.
    const sealed = payloadsIn(await env.client.workflow.getHandle('sealed-ok').fetchHistory());
    const encodings = new Set(sealed.map((p) => Buffer.from(p.metadata?.encoding ?? []).toString()));
    assert.ok(encodings.has(ENCRYPTED_ENCODING));
  });
});
