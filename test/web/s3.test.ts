import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import sharp from 'sharp';
import { openBlobStore } from '../../src/lib/blob-store';
import { loadConfig, type PhotoConfig } from '../../src/lib/config';
import { startS3Server, type S3Server } from '../../src/lib/s3-server';
import type { RunView } from '../../src/web/views';
import { jpeg } from '../support/images';
import { withWorkers } from '../support/pipeline';
import { devServerEnv } from '../support/temporal';
import { readEvents, startWebApp, type WebApp } from '../support/web';

/**
 * The photo site with the blobs and the gallery in a real S3-compatible server (versitygw): uploads go into the
 * bucket, previews and gallery images come out of it, and nothing touches the web server's disk.
 */
describe('the photo site on the S3 driver', () => {
  let env: TestWorkflowEnvironment;
  let dir: string;
  let s3: S3Server;
  let config: PhotoConfig;
  let web: WebApp;

  before(async () => {
    env = await devServerEnv();
    dir = mkdtempSync(path.join(os.tmpdir(), 'nano-photos-web-s3-'));
    s3 = await startS3Server({ dir: path.join(dir, 's3') });
    // As `npm run web` and the workers would run: the S3 settings, credentials included, in the environment (the
    // AWS SDK reads the credentials there). This test file runs in its own process.
    Object.assign(process.env, s3.env());
    config = loadConfig({ ...process.env, NANO_PHOTOS_DATA_DIR: path.join(dir, 'data') });
    web = await startWebApp(env, config);
  });
  after(async () => {
    await web?.close();
    await s3?.stop();
    await env?.teardown();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('stores the upload in the bucket and serves the run, its previews and the gallery from it', async () => {
    const photo = await jpeg({ width: 640, height: 480 });
    const form = new FormData();
    form.append(
      'request',
      JSON.stringify({ filters: [{ filter: 'resize', params: { width: 320 } }], share: ['gallery'] }),
    );
    form.append('photo', new Blob([new Uint8Array(photo)], { type: 'image/jpeg' }), 'harbour.jpg');
    const answer = await fetch(`${web.base}/api/photos`, { method: 'POST', body: form });
    assert.equal(answer.status, 201);
    const [run] = ((await answer.json()) as { runs: { workflowId: string }[] }).runs;

    const views = await withWorkers(env, config, () => readEvents(`${web.base}/api/photos/${run.workflowId}/events`));
    const last = views.filter((e) => e.event === 'view').at(-1)!.data as RunView;
    assert.equal(last.status, 'COMPLETED');
    assert.ok(last.steps.every((s) => s.state === 'done'));

    // The output stays in the bucket; the run's intermediates went from it when the run ended.
    const output = last.steps.find((s) => s.name === 'output')!.artifact!;
    const preview = Buffer.from(await (await fetch(`${web.base}${output.preview}`)).arrayBuffer());
    assert.deepEqual(
      await sharp(preview)
        .metadata()
        .then((m) => [m.format, m.width]),
      ['jpeg', 320],
    );
    const resize = last.steps.find((s) => s.name === 'resize')!.artifact!;
    assert.match(resize.preview!, /[?&]scope=/, 'the resize step stored its result in the run scratch');
    assert.equal((await fetch(`${web.base}${resize.preview!}`)).status, 404);

    const gallery = (await (await fetch(`${web.base}/api/gallery`)).json()) as {
      items: { workflowId: string; image: string; title: string }[];
    };
    assert.equal(gallery.items[0].workflowId, run.workflowId);
    const image = Buffer.from(await (await fetch(`${web.base}${gallery.items[0].image}`)).arrayBuffer());
    assert.ok(image.equals(await openBlobStore(config.blobStore).get(last.output!.key)));
    assert.match(await (await fetch(`${web.base}/gallery`)).text(), /<strong>harbour\.jpg<\/strong>/);

    for (const folder of ['blobs', 'gallery']) {
      assert.ok(!existsSync(path.join(dir, 'data', folder)), `nothing in the data folder's ${folder}`);
    }
  });
});
