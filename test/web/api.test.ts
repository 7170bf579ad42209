import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import sharp from 'sharp';
import { filterNames } from '../../src/common/filter-catalog';
import { SHARE_TARGETS } from '../../src/common/workflow-io';
import { openBlobStore } from '../../src/lib/blob-store';
import { startChild, waitUntilReady } from '../../src/lib/child-processes';
import { freePort } from '../../src/lib/free-port';
import { previewPath } from '../../src/web/preview';
import { projectRoot } from '../../src/lib/project-root';
import type { AlbumView, RunView } from '../../src/web/views';
import { jpeg } from '../support/images';
import { tempWorld, withWorkers } from '../support/pipeline';
import { devServerEnv } from '../support/temporal';
import { startWebApp, readEvents, type WebApp } from '../support/web';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver';

/**
 * The JSON API of `npm run web` against a real dev server with real workers, stores and a webhook receiver: uploads
 * become blob-sourced runs, progress arrives as server-sent events, review and cancel work, and every refusal is JSON
 * with the message the CLI prints.
 */

const SECRET = 'web-api-secret';

describe('the JSON API', () => {
  let env: TestWorkflowEnvironment;
  let world: ReturnType<typeof tempWorld>;
  let receiver: WebhookReceiver;
  let web: WebApp;
  let photo: Buffer;

  before(async () => {
    env = await devServerEnv();
    receiver = await startWebhookReceiver({ secret: SECRET });
    world = tempWorld({ url: receiver.url, secret: SECRET });
    web = await startWebApp(env, world.config);
    photo = await jpeg({ width: 900, height: 600 });
  });
  after(async () => {
    await web?.close();
    await receiver?.close();
    await env?.teardown();
    world?.cleanup();
  });

  const upload = (request: unknown, files: { name: string; data: Buffer; type?: string }[] = []) => {
    const form = new FormData();
    form.append('request', typeof request === 'string' ? request : JSON.stringify(request));
    for (const f of files)
      form.append('photo', new Blob([new Uint8Array(f.data)], { type: f.type ?? 'image/jpeg' }), f.name);
    return fetch(`${web.base}/api/photos`, { method: 'POST', body: form });
  };
  const json = async (response: Response) => ({ status: response.status, body: (await response.json()) as never });
  const started = async (response: Response): Promise<string> => {
    const { status, body } = await json(response);
    assert.equal(status, 201, JSON.stringify(body));
    return (body as { runs: { workflowId: string }[] }).runs[0].workflowId;
  };
  const views = (id: string, stop: (view: RunView) => boolean = () => false) =>
    readEvents(`${web.base}/api/photos/${id}/events`, (e) => e.event === 'view' && stop(e.data as RunView)).then(
      (events) => events.filter((e) => e.event === 'view').map((e) => e.data as RunView),
    );
  const post = (url: string, body?: object) =>
    fetch(`${web.base}${url}`, {
      method: 'POST',
      ...(body ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {}),
    }).then(json);
  const runCount = async () => (await env.client.workflow.count('WorkflowType = "processPhoto"')).count;
  const blobCount = () =>
    existsSync(world.config.blobDir)
      ? readdirSync(world.config.blobDir, { recursive: true }).filter((f) => /\.\w+$/.test(String(f))).length
      : 0;

  it('stores the upload as a blob, starts the run with its key and streams every step to done', async () => {
    const id = await started(
      await upload(
        { filters: [{ filter: 'resize', params: { width: 300 } }, { filter: 'sepia' }], share: ['gallery'] },
        [{ name: 'beach.jpg', data: photo }],
      ),
    );
    const seen = await withWorkers(env, world.config, () => views(id));
    const last = seen.at(-1)!;
    assert.equal(last.status, 'COMPLETED');
    assert.deepEqual(
      last.steps.map((s) => [s.name, s.state]),
      [
        ['upload', 'done'],
        ['resize', 'done'],
        ['sepia', 'done'],
        ['output', 'done'],
        ['share:gallery', 'done'],
      ],
    );
    assert.ok(seen.length >= 2, `the stream carried ${seen.length} views, expected the run to be seen moving`);
    assert.deepEqual([last.stepsDone, last.stepsTotal], [5, 5]);
    assert.equal(last.title, 'beach.jpg');
    assert.match(last.webUi, new RegExp(`/namespaces/default/workflows/${id}$`));

    // The bytes went through the blob store, not a path: the run's input names them by their hash.
    const history = await env.client.workflow.getHandle(id).fetchHistory();
    const input = JSON.parse(
      Buffer.from(history.events![0].workflowExecutionStartedEventAttributes!.input!.payloads![0].data!).toString(),
    );
    assert.deepEqual(input.source, { blob: `${createHash('sha256').update(photo).digest('hex')}.jpg` });

    // Intermediates are the run's own (its scratch) and deleted when the run ends: their previews say so.
    const resize = last.steps[1].artifact!;
    assert.equal(resize.format, 'raw');
    assert.match(resize.preview!, /^\/api\/previews\/[0-9a-f]{64}\.raw\?scope=[0-9a-f-]+&shape=300x200x3$/);
    assert.equal((await fetch(`${web.base}${resize.preview!}`)).status, 404);
    // While a run goes on, every intermediate has a small JPEG preview, raw ones included.
    const { data, info } = await sharp(photo).resize(300).raw().toBuffer({ resolveWithObject: true });
    const held = await openBlobStore(world.config.blobStore).put(data, 'raw', 'a-run-still-going');
    const preview = await fetch(`${web.base}${previewPath({ ...info, key: held.key, format: 'raw' })}`);
    assert.equal(preview.headers.get('content-type'), 'image/jpeg');
    const meta = await sharp(Buffer.from(await preview.arrayBuffer())).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['jpeg', 300, 200]);

    // The gallery lists it first and links its run; its image is the run's output.
    const gallery = (await json(await fetch(`${web.base}/api/gallery`))).body as {
      items: { workflowId: string; runPage: string; image: string; title: string }[];
    };
    assert.equal(gallery.items[0].workflowId, id);
    assert.equal(gallery.items[0].runPage, `/runs/${id}`);
    const image = Buffer.from(await (await fetch(`${web.base}${gallery.items[0].image}`)).arrayBuffer());
    const published = readdirSync(world.config.galleryDir).find((f) => f.startsWith(id) && f.endsWith('.jpg'))!;
    assert.ok(image.equals(readFileSync(path.join(world.config.galleryDir, published))));
  });

  it('shows the retry count and the reason while a share target is being retried', async () => {
    receiver.failNext(1); // the first post fails; the retry, 2 s later, gets through
    const id = await started(await upload({ share: ['webhook'] }, [{ name: 'retry.jpg', data: photo }]));
    const seen = await withWorkers(env, world.config, () => views(id));
    const retrying = seen.flatMap((v) => v.steps).find((s) => s.name === 'share:webhook' && s.attempt === 2);
    assert.ok(retrying, 'a view showed the webhook step on its second attempt');
    assert.match(retrying.lastFailure ?? '', /500/);
    assert.equal(seen.at(-1)!.status, 'COMPLETED');
    assert.equal(seen.at(-1)!.steps.at(-1)!.attempt, undefined, 'no retry shown once done');
  });

  it('waits for review, records who approved, refuses a second decision and shares nothing when rejected', async () => {
    const galleryBefore = readdirSync(world.config.galleryDir).length;
    const [approved, rejected] = [
      await started(await upload({ share: ['gallery'], review: { timeout: '2h' } }, [{ name: 'a.jpg', data: photo }])),
      await started(await upload({ share: ['gallery'], review: {} }, [{ name: 'b.jpg', data: photo }])),
    ];
    await withWorkers(env, world.config, async () => {
      for (const id of [approved, rejected]) await views(id, (v) => v.review?.waiting === true);
      assert.equal(readdirSync(world.config.galleryDir).length, galleryBefore, 'nothing published while waiting');

      const yes = await post(`/api/photos/${approved}/approve`, { by: 'Ann', note: 'nice' });
      assert.equal(yes.status, 200);
      assert.deepEqual(
        { ...(yes.body as { review: object }).review, at: undefined },
        {
          decision: 'approved',
          by: 'Ann',
          note: 'nice',
          at: undefined,
        },
      );
      const again = await post(`/api/photos/${approved}/reject`, { by: 'Bob' });
      assert.equal(again.status, 409);
      assert.match((again.body as { error: string }).error, /review was already approved by Ann/);
      assert.equal((await post(`/api/photos/${rejected}/reject`, { by: 'Cy' })).status, 200);
      for (const id of [approved, rejected]) await views(id);
    });
    const [a, b] = await Promise.all(
      [approved, rejected].map(async (id) => (await json(await fetch(`${web.base}/api/photos/${id}`))).body as RunView),
    );
    assert.deepEqual(
      a.steps.map((s) => s.state),
      ['done', 'done', 'done', 'done'],
    );
    assert.deepEqual(a.shares, [{ target: 'gallery', duplicate: false }]);
    assert.equal(b.review?.outcome?.decision, 'rejected');
    assert.equal(b.review?.outcome?.by, 'Cy');
    assert.deepEqual(b.shares, []);
    assert.equal(b.steps.at(-1)!.state, 'skipped');
    const published = readdirSync(world.config.galleryDir).filter((f) => f.endsWith('.json'));
    assert.ok(published.some((f) => f.startsWith(approved)));
    assert.ok(!published.some((f) => f.startsWith(rejected)), 'the rejected photo is not in the gallery');
  });

  it('makes several photos one album; a bad photo fails alone and the album says which', async () => {
    const response = await upload({ title: 'Trip', share: ['gallery'] }, [
      { name: 'one.jpg', data: photo },
      { name: 'notes.txt', data: Buffer.from('not a photo'), type: 'text/plain' },
      { name: 'three.jpg', data: await jpeg({ width: 300, height: 200 }) },
    ]);
    const { status, body } = await json(response);
    assert.equal(status, 201);
    const { album, runs } = body as { album: { workflowId: string; page: string }; runs: { workflowId: string }[] };
    assert.match(album.workflowId, /^album-[0-9a-f]{12}$/);
    assert.equal(album.page, `/albums/${album.workflowId}`);
    assert.deepEqual(
      runs.map((r) => r.workflowId),
      [1, 2, 3].map((n) => `${album.workflowId}-000${n}`),
    );
    const seen = await withWorkers(env, world.config, () =>
      readEvents(`${web.base}/api/albums/${album.workflowId}/events`).then((events) =>
        events.filter((e) => e.event === 'view').map((e) => e.data as AlbumView),
      ),
    );
    const last = seen.at(-1)!;
    assert.equal(last.status, 'COMPLETED');
    assert.deepEqual([last.total, last.done, last.failed], [3, 2, 1]);
    assert.deepEqual(
      last.photos.map((p) => [p.title, p.state]),
      [
        ['one.jpg', 'done'],
        ['notes.txt', 'failed'],
        ['three.jpg', 'done'],
      ],
    );
    assert.match(last.photos[1].error ?? '', /^upload: not a supported image/);
    assert.equal(last.photos[0].page, `/runs/${runs[0].workflowId}`);
    const thumbnail = await fetch(`${web.base}${last.photos[2].thumbnail}`);
    assert.equal(thumbnail.headers.get('content-type'), 'image/jpeg');
  });

  it('cancels a running run, once', async () => {
    const id = await started(await upload({ review: {} }, [{ name: 'c.jpg', data: photo }]));
    await withWorkers(env, world.config, async () => {
      await views(id, (v) => v.review?.waiting === true);
      const cancelled = await post(`/api/photos/${id}/cancel`);
      assert.equal(cancelled.status, 202);
      const last = (await views(id)).at(-1)!;
      assert.equal(last.status, 'CANCELLED');
    });
    const again = await post(`/api/photos/${id}/cancel`);
    assert.deepEqual(again, { status: 409, body: { error: 'the run has already ended (CANCELLED)' } });
  });

  it('refuses bad requests with JSON errors in the CLI’s words, storing and starting nothing', async () => {
    const runs = await runCount();
    const blobs = blobCount();
    const refused = async (response: Promise<Response>, status: number, error: string | RegExp) => {
      const answer = await json(await response);
      assert.equal(answer.status, status, JSON.stringify(answer.body));
      const message = (answer.body as { error: string }).error;
      if (typeof error === 'string') assert.equal(message, error);
      else assert.match(message, error);
    };
    const one = [{ name: 'x.jpg', data: photo }];
    await refused(
      upload({ filters: [{ filter: 'blur', params: { sigma: 5000 } }] }, one),
      400,
      'blur: expected sigma to be a number between 0.3 and 1000, received 5000 (number)',
    );
    await refused(
      upload({ filters: [{ filter: 'vignette' }] }, one),
      400,
      /^filters\[0\]: unknown filter "vignette"; expected one of resize, /,
    );
    await refused(
      upload({ share: ['myspace'] }, one),
      400,
      `unknown share target "myspace"; expected one of ${SHARE_TARGETS.join(', ')}`,
    );
    await refused(
      upload({ review: { timeout: 'forever' } }, one),
      400,
      /^expected review.timeout to be a duration between 1 minute and 30 days/,
    );
    await refused(upload({ source: { path: '/etc/passwd' } }, one), 400, /^unknown field "source" in request/);
    await refused(upload('{not json', one), 400, /^the request field is not JSON/);
    await refused(upload({}), 400, 'expected at least one photo (a "photo" file field)');
    const photoFirst = new FormData();
    photoFirst.append('photo', new Blob([new Uint8Array(photo)]), 'x.jpg');
    photoFirst.append('request', '{}');
    await refused(fetch(`${web.base}/api/photos`, { method: 'POST', body: photoFirst }), 400, /"request" field before/);
    await refused(
      fetch(`${web.base}/api/photos`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      }),
      415,
      /^expected multipart\/form-data/,
    );
    await refused(
      fetch(`${web.base}/api/photos`, { method: 'POST', headers: { 'content-type': 'image/jpeg' }, body: 'xyz' }),
      415,
      /Unsupported Media Type/i,
    );
    await refused(fetch(`${web.base}/api/photos/nope-123`), 404, 'no run with ID nope-123');
    await refused(fetch(`${web.base}/api/photos/a..b`), 400, /^expected a run ID like photo-/);
    await refused(fetch(`${web.base}/api/previews/..%2F..%2Fetc%2Fpasswd`), 400, /^blob key must look like/);
    await refused(fetch(`${web.base}/api/previews/${'a'.repeat(64)}.jpg`), 404, /^no image a{64}\.jpg/);
    await refused(fetch(`${web.base}/api/gallery?page=0`), 400, /^expected page to be a whole number from 1/);
    await refused(
      fetch(`${web.base}/api/photos/nope-123/approve`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ by: 'x'.repeat(20_000) }),
      }),
      413,
      'the request body is too large',
    );
    await refused(
      fetch(`${web.base}/api/photos/nope-123/approve`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ by: '' }),
      }),
      400,
      /^expected by \(who decides\)/,
    );
    await refused(
      fetch(`${web.base}/api/photos/nope-123/cancel`, { method: 'POST', headers: { origin: 'http://evil.example' } }),
      403,
      "requests from http://evil.example are not accepted; use this site's own pages or the API",
    );
    assert.equal(await runCount(), runs, 'no run was started');
    assert.equal(blobCount(), blobs, 'nothing was stored');
  });

  it('enforces the size and count limits per upload', async () => {
    const small = await startWebApp(env, world.config, { maxBytes: 10_000, maxFiles: 2 });
    try {
      const runs = await runCount();
      const tiny = await jpeg({ width: 16, height: 16 });
      const send = (files: Buffer[]) => {
        const form = new FormData();
        form.append('request', '{}');
        files.forEach((f, i) => form.append('photo', new Blob([new Uint8Array(f)]), `p${i}.jpg`));
        return fetch(`${small.base}/api/photos`, { method: 'POST', body: form }).then(json);
      };
      assert.deepEqual(await send([photo]), {
        status: 413,
        body: { error: 'expected each photo to be at most 10000 bytes (maxBytes)' },
      });
      assert.deepEqual(await send([tiny, tiny, tiny]), {
        status: 413,
        body: { error: 'expected at most 2 photos in one upload' },
      });
      assert.equal(await runCount(), runs, 'a refused upload starts nothing');
    } finally {
      await small.close();
    }
  });

  it('sends pages with a strict CSP, no inline script, and user text escaped', async () => {
    const id = await started(
      await upload({ title: '<img src=x onerror=alert(1)>', share: ['gallery'] }, [{ name: 'x.jpg', data: photo }]),
    );
    await withWorkers(env, world.config, () => views(id));
    for (const page of ['/', `/runs/${id}`, '/gallery']) {
      const response = await fetch(`${web.base}${page}`);
      assert.equal(response.status, 200);
      const csp = response.headers.get('content-security-policy') ?? '';
      assert.match(csp, /script-src 'self'(;|$)/);
      assert.match(csp, /default-src 'none'/);
      const html = await response.text();
      assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, `${page} has an inline script`);
    }
    const gallery = await (await fetch(`${web.base}/gallery`)).text();
    assert.match(gallery, /<strong>&lt;img src=x onerror=alert\(1\)&gt;<\/strong>/);
    assert.doesNotMatch(gallery, /<img src=x/);
  });

  it('answers a gallery page of 1 200 entries quickly, newest first', async () => {
    const big = tempWorld();
    try {
      mkdirSync(big.config.galleryDir, { recursive: true });
      for (let i = 0; i < 1200; i++) {
        const entry = {
          idempotencyKey: `photo-${String(i).padStart(12, '0')}-000000:gallery`,
          file: `e${i}.jpg`,
          title: `photo ${i}`,
          filters: ['sepia'],
          format: 'jpeg',
          width: 10,
          height: 10,
          bytes: 100,
          sha256: createHash('sha256').update(String(i)).digest('hex'),
          publishedAt: new Date(Date.UTC(2026, 0, 1) + i * 60_000).toISOString(),
        };
        writeFileSync(path.join(big.config.galleryDir, `e${i}.json`), JSON.stringify(entry));
      }
      const app = await startWebApp(env, big.config);
      try {
        await fetch(`${app.base}/api/gallery`); // warm up
        const started = performance.now();
        const page = (await (await fetch(`${app.base}/api/gallery?page=2&perPage=24`)).json()) as {
          items: { title: string; runPage: string }[];
          total: number;
          pages: number;
        };
        const ms = performance.now() - started;
        assert.equal(page.total, 1200);
        assert.equal(page.pages, 50);
        assert.deepEqual(
          page.items.slice(0, 2).map((i) => i.title),
          ['photo 1175', 'photo 1174'],
        );
        assert.equal(page.items[0].runPage, '/runs/photo-000000001175-000000');
        assert.ok(ms < 1500, `page 2 of 1 200 entries took ${ms.toFixed(0)} ms`);
        const html = await (await fetch(`${app.base}/gallery?page=50`)).text();
        assert.match(html, /Page 50 of 50/);
        assert.match(html, /rel="prev"/);
        assert.doesNotMatch(html, /rel="next"/);
      } finally {
        await app.close();
      }
    } finally {
      big.cleanup();
    }
  });

  it('runs as npm run web: listens where the settings say and serves the catalog', async () => {
    const port = await freePort();
    const child = startChild({
      name: 'npm run web',
      command: process.execPath,
      args: ['--import', 'tsx', 'src/bin/web.ts'],
      cwd: projectRoot,
      env: {
        ...process.env,
        TEMPORAL_ADDRESS: env.address,
        NANO_PHOTOS_DATA_DIR: world.config.dataDir,
        NANO_PHOTOS_WEB_PORT: String(port),
      },
    });
    try {
      await waitUntilReady(child, 'waiting for its first line', () => child.output().includes('\n'));
      const line = child.output().trim();
      assert.match(line, new RegExp(`^nano-photos web app on http://127\\.0\\.0\\.1:${port} `));
      const catalog = (await (await fetch(`http://127.0.0.1:${port}/api/catalog`)).json()) as {
        filters: Record<string, unknown>;
        shareTargets: string[];
      };
      assert.deepEqual(Object.keys(catalog.filters), filterNames);
      assert.deepEqual(catalog.shareTargets, [...SHARE_TARGETS]);
    } finally {
      await child.stop();
    }
  });
});
