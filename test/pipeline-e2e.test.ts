import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { temporal } from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import sharp from 'sharp';
import { applyChainInProcess } from '../src/bench/monolith-chain';
import { filterNames } from '../src/common/filter-catalog';
import { FileBlobStore } from '../src/lib/blob-store';
import { startPhotoRun, watchRun } from '../src/lib/photo-runs';
import { provisionTemporalCli } from '../src/provision/temporal-cli';
import { PHOTO_FILTERS, PHOTO_SHA256, PHOTO_SHARE_TARGETS, PHOTO_STEP } from '../src/common/search-attributes';
import type { FilterStep } from '../src/common/types';
import type { Progress } from '../src/common/workflow-io';
import { TASK_QUEUES } from '../src/common/task-queues';
import { jpeg } from './support/images';
import { tempWorld, withWorkers } from './support/pipeline';
import { devServerEnv } from './support/temporal';
import { startWebhookReceiver, type WebhookReceiver } from './support/webhook-receiver';

const SECRET = 'end-to-end-secret';

/** What a run recorded before it scheduled its upload, besides its first workflow task: markers, memos, upserts. */
function bookkeepingBeforeUpload(history: temporal.api.history.v1.IHistory): string[] {
  const events = history.events ?? [];
  const upload = events.findIndex((e) => e.activityTaskScheduledEventAttributes);
  return events.slice(0, upload).flatMap((e) => {
    if (e.markerRecordedEventAttributes) return [`${e.markerRecordedEventAttributes.markerName} marker`];
    if (e.workflowPropertiesModifiedEventAttributes) return ['memo'];
    const upsert = e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields;
    return upsert ? [Object.keys(upsert).sort().join(',')] : [];
  });
}
const FILTERS: FilterStep[] = [
  { filter: 'resize', params: { width: 480 } },
  { filter: 'sepia' },
  { filter: 'sharpen', params: { sigma: 1.2 } },
  { filter: 'watermark', params: { text: '© me' } },
  { filter: 'output', params: { format: 'jpeg', quality: 80 } },
];

describe('processPhoto end to end on a real dev server', () => {
  let env: TestWorkflowEnvironment;
  let receiver: WebhookReceiver;
  let world: ReturnType<typeof tempWorld>;
  let photo: string;

  before(async () => {
    env = await devServerEnv();
    receiver = await startWebhookReceiver({ secret: SECRET });
    world = tempWorld({ url: receiver.url, secret: SECRET });
    photo = path.join(world.dir, 'holiday.jpg');
    writeFileSync(photo, await jpeg({ width: 1200, height: 800 }, 6));
  });
  after(async () => {
    await receiver?.close();
    await env?.teardown();
    world?.cleanup();
  });

  it('uploads, filters in order, shares to gallery and webhook, and matches the in-process result pixel for pixel', async () => {
    const seen: Progress[] = [];
    const { result, handle } = await withWorkers(env, world.config, async () => {
      const handle = await startPhotoRun(env.client, {
        source: { path: photo },
        filters: FILTERS,
        share: ['gallery', 'webhook'],
      });
      return { handle, result: await watchRun(handle, (p) => seen.push(p), 20) };
    });

    assert.match(handle.workflowId, /^photo-[0-9a-f]{12}-[0-9a-f]{6}$/);
    // EXIF orientation 6: the 1200x800 sensor image is upright 800x1200.
    assert.deepEqual([result.original.width, result.original.height], [800, 1200]);
    assert.deepEqual(
      result.steps.map((s) => s.filter),
      ['resize', 'sepia', 'sharpen', 'watermark', 'output'],
    );
    assert.deepEqual([result.output.format, result.output.width, result.output.height], ['jpeg', 480, 720]);
    assert.ok(
      seen.some((p) => p.stage === 'filter'),
      'the progress query reported filter steps while running',
    );

    // The claim check holds the bytes; the pipeline's output equals the same filters applied in one process.
    const store = new FileBlobStore(world.config.blobDir);
    const output = await store.get(result.output.key);
    const expected = await applyChainInProcess(readFileSync(photo), FILTERS);
    const [a, b] = await Promise.all([output, expected].map((buf) => sharp(buf).raw().toBuffer()));
    assert.ok(a.equals(b), 'pixel-identical to the in-process chain');

    // Gallery: the published file is the output, and the page lists it.
    const gallery = result.shares.find((s) => s.target === 'gallery')!;
    assert.ok(readFileSync(gallery.location).equals(output));
    assert.match(
      readFileSync(path.join(world.config.galleryDir, 'index.html'), 'utf8'),
      new RegExp(path.basename(gallery.location)),
    );

    // Webhook: one signed post carrying the run's idempotency key.
    assert.equal(receiver.accepted.length, 1);
    const [post] = receiver.accepted;
    assert.ok(post.signatureValid, 'HMAC signature verifies with the secret');
    assert.equal(post.idempotencyKey, `${handle.workflowId}:webhook`);
    assert.match(String((post.body as { text: string }).text), /holiday\.jpg/);

    // Findable in the UI by the project's search attributes, titled by the memo; the client sent them with the start
    // request, so the run set none of them before its upload, and it kept the share stage as its last PhotoStep.
    const description = await handle.describe();
    assert.equal(description.typedSearchAttributes.get(PHOTO_SHA256), result.original.sha256);
    assert.deepEqual(description.typedSearchAttributes.get(PHOTO_FILTERS), [
      'resize',
      'sepia',
      'sharpen',
      'watermark',
      'output',
    ]);
    assert.deepEqual(description.typedSearchAttributes.get(PHOTO_SHARE_TARGETS), ['gallery', 'webhook']);
    assert.equal(description.typedSearchAttributes.get(PHOTO_STEP), 'share:gallery,share:webhook');
    assert.deepEqual(description.memo, { source: photo, title: 'holiday.jpg', output: result.output });
    const history = await handle.fetchHistory();
    assert.deepEqual(bookkeepingBeforeUpload(history), ['core_patch marker', 'TemporalChangeVersion']);

    // No image bytes in history: every payload is a few KB at most, and the secret never appears.
    const payloads = JSON.stringify(history).length;
    let largest = 0;
    const walk = (node: unknown): void => {
      if (!node || typeof node !== 'object') return;
      const data = (node as { data?: unknown }).data;
      if (data instanceof Uint8Array) largest = Math.max(largest, data.length);
      for (const value of Object.values(node)) walk(value);
    };
    walk(history);
    assert.ok(largest > 0 && largest < 4096, `largest payload is ${largest} bytes`);
    assert.ok(payloads < 200_000);
    assert.ok(!JSON.stringify(history).includes(SECRET));
    assert.ok(!JSON.stringify(history).includes(receiver.url));
  });

  it('runs from the temporal CLI alone with the README input', async () => {
    const cli = await provisionTemporalCli();
    const input = JSON.stringify({ source: { path: photo }, filters: [{ filter: 'grayscale' }], share: ['gallery'] });
    // Asynchronously: the workers share this process's event loop.
    await withWorkers(env, world.config, () =>
      promisify(execFile)(cli, [
        'workflow',
        'execute',
        '--address',
        env.address,
        '--type',
        'processPhoto',
        '--task-queue',
        TASK_QUEUES.workflow,
        '--workflow-id',
        'cli-started',
        '--input',
        input,
      ]),
    );
    const handle = env.client.workflow.getHandle('cli-started');
    const result = await handle.result();
    assert.equal(result.output.format, 'jpeg');
    assert.ok(existsSync(result.shares[0].location));
    // Started without a title or search attributes: the run set them itself, before its upload.
    const description = await handle.describe();
    assert.deepEqual(description.memo, { source: photo, title: 'holiday.jpg', output: result.output });
    assert.deepEqual(description.typedSearchAttributes.get(PHOTO_FILTERS), ['grayscale']);
    assert.deepEqual(description.typedSearchAttributes.get(PHOTO_SHARE_TARGETS), ['gallery']);
    assert.deepEqual(bookkeepingBeforeUpload(await handle.fetchHistory()), [
      'core_patch marker',
      'TemporalChangeVersion',
      'memo',
      'PhotoFilters,PhotoShareTargets,PhotoStep',
    ]);
  });
});

describe('the photo client script against a real dev server', () => {
  let env: TestWorkflowEnvironment;
  let world: ReturnType<typeof tempWorld>;
  let photo: string;
  const photoCli = (args: string[]) =>
    promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/bin/photo.ts', ...args], {
      cwd: path.resolve(__dirname, '..'),
      // The workers' blob store: the client puts a local photo there rather than sending its path.
      env: { ...process.env, TEMPORAL_ADDRESS: env.address, NANO_PHOTOS_DATA_DIR: world.config.dataDir },
    });

  before(async () => {
    env = await devServerEnv();
    world = tempWorld();
    photo = path.join(world.dir, 'beach.jpg');
    writeFileSync(photo, await jpeg({ width: 400, height: 300 }));
  });
  after(async () => {
    await env?.teardown();
    world?.cleanup();
  });

  it('lists every filter with its parameters in --help', async () => {
    const { stdout } = await photoCli(['--help']);
    for (const name of filterNames) assert.match(stdout, new RegExp(`^  ${name}: `, 'm'));
    assert.match(stdout, /width: an integer between 1 and 16384/);
  });

  it('runs a photo, then answers status and result later, with --json', async () => {
    const { stdout } = await withWorkers(env, world.config, () =>
      photoCli([
        photo,
        '--filter',
        'resize:width=200',
        '--filter',
        'watermark:text=© me, 2026',
        '--share',
        'gallery',
        '--json',
      ]),
    );
    const run = JSON.parse(stdout.trim().split('\n').at(-1)!);
    assert.equal(run.status, 'COMPLETED');
    assert.match(run.webUi, new RegExp(`/namespaces/default/workflows/${run.workflowId}$`));
    assert.deepEqual([run.result.output.width, run.result.output.height], [200, 150]);
    assert.ok(existsSync(run.result.shares[0].location));
    const input = await env.client.workflow.getHandle(run.workflowId).fetchHistory();
    const started = input.events![0].workflowExecutionStartedEventAttributes!.input!.payloads![0].data!;
    const sent = JSON.parse(Buffer.from(started).toString('utf8'));
    const key = `${createHash('sha256').update(readFileSync(photo)).digest('hex')}.jpg`;
    assert.deepEqual(sent.source, { blob: key }, 'the bytes went through the blob store, not a path');
    assert.equal(sent.title, 'beach.jpg');
    assert.equal(run.result.original.key, key);

    const status = JSON.parse((await photoCli(['status', run.workflowId, '--json'])).stdout);
    assert.equal(status.status, 'COMPLETED');
    const later = JSON.parse((await photoCli(['result', run.workflowId, '--json'])).stdout.trim().split('\n').at(-1)!);
    assert.equal(later.result.output.key, run.result.output.key);
  });

  it('exits non-zero with a one-line reason on bad input, before starting anything', async () => {
    const failed = await photoCli([photo, '--filter', 'blur:sigma=5000']).then(
      () => assert.fail('expected a non-zero exit'),
      (err: { code: number; stderr: string }) => err,
    );
    assert.equal(failed.code, 1);
    assert.equal(
      failed.stderr.trim(),
      'error: blur: expected sigma to be a number between 0.3 and 1000, received 5000 (number)',
    );
    const runs = await env.client.workflow.count('WorkflowType = "processPhoto"');
    assert.equal(runs.count, 1, 'only the earlier good run exists: the bad one never started');
  });
});
