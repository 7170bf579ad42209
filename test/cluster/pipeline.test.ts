import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@temporalio/client';
import sharp from 'sharp';
import { applyChainInProcess } from '../../src/bench/monolith-chain';
import { Cluster } from '../../src/cluster/cluster';
import { PHOTO_SEARCH_ATTRIBUTES } from '../../src/common/search-attributes';
import { TASK_QUEUES } from '../../src/common/task-queues';
import type { FilterStep } from '../../src/common/types';
import { FileBlobStore } from '../../src/lib/blob-store';
import { freePort } from '../../src/lib/free-port';
import { METRIC_NAMES } from '../../src/lib/metrics';
import { startPhotoRun } from '../../src/lib/photo-runs';
import { provisionTemporalCli } from '../../src/provision/temporal-cli';
import { provisionCluster } from '../../src/provision/temporal-server';
import { assertEachRunCompletedOnce, metricSum, scrape, startTestCluster } from '../support/cluster';
import { jpeg } from '../support/images';
import { connectTestClient, Processes, waitFor, type WorkerProcess } from '../support/processes';
import { SERVICE_NAMES } from '../../src/common/task-queues';

const FILTERS: FilterStep[] = [
  { filter: 'resize', params: { width: 320 } },
  { filter: 'sepia' },
  { filter: 'output', params: { format: 'jpeg', quality: 80 } },
];

describe('the pipeline on a production-shape Temporal (PostgreSQL, 4 shards)', { timeout: 10 * 60_000 }, () => {
  const world = new Processes();
  let cluster: Cluster;
  let client: Client;
  let stopCluster: () => Promise<void>;
  let worker: WorkerProcess;
  let workerMetrics: string;
  let completedId: string;

  before(async () => {
    ({ cluster, client, stop: stopCluster } = await startTestCluster(world, { ui: true }));
    workerMetrics = `http://127.0.0.1:${await freePort()}/metrics`;
    worker = await world.startWorker({
      services: SERVICE_NAMES,
      address: cluster.address,
      dataDir: world.dataDir,
      metricsAddress: new URL(workerMetrics).host,
    });
  });
  after(async () => {
    // The cluster first, while its folder still exists; then the workers and the folder.
    try {
      await stopCluster?.();
    } finally {
      await world.cleanup();
    }
  });

  it('is set up the way docker-compose sets it up: 4 history shards, namespace default, the search attributes', async () => {
    const info = await client.workflowService.getClusterInfo({});
    assert.ok((info.historyShardCount ?? 0) >= 4, `history shards: ${info.historyShardCount}`);
    assert.match(info.serverVersion ?? '', /^1\.32\./);
    const { customAttributes } = await client.connection.operatorService.listSearchAttributes({ namespace: 'default' });
    for (const key of PHOTO_SEARCH_ATTRIBUTES) {
      assert.ok(customAttributes?.[key.name] !== undefined, `search attribute ${key.name} is registered`);
    }
    const page = await fetch(cluster.uiUrl!);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<html/i, 'the Web UI serves its page');
  });

  it('runs a photo end to end, identical to the in-process chain, and the metrics on both sides move', async () => {
    const serverBefore = await scrape(cluster.metricsUrl);
    const photo = path.join(world.dir, 'photo.jpg');
    writeFileSync(photo, await jpeg({ width: 800, height: 600 }));

    const handle = await startPhotoRun(client, { source: { path: photo }, filters: FILTERS, share: ['gallery'] });
    const result = await handle.result();
    completedId = handle.workflowId;
    assert.deepEqual([result.output.format, result.output.width, result.output.height], ['jpeg', 320, 240]);
    const store = new FileBlobStore(world.config().blobDir);
    const [output, expected] = await Promise.all([
      store.get(result.output.key),
      applyChainInProcess(readFileSync(photo), FILTERS),
    ]);
    const [a, b] = await Promise.all([output, expected].map((x) => sharp(x).raw().toBuffer()));
    assert.ok(a.equals(b), 'pixel-identical to the in-process chain');
    await assertEachRunCompletedOnce([handle], world.config().galleryDir, [
      'upload',
      'resize',
      'sepia',
      'output',
      'shareGallery',
      'deleteScratch',
    ]);
    // Visibility on PostgreSQL answers queries on the project's search attributes.
    await waitFor('the run to be listed by its photo hash', async () => {
      for await (const e of client.workflow.list({ query: `PhotoSha256 = '${result.original.sha256}'` })) {
        if (e.workflowId === handle.workflowId) return true;
      }
      return false;
    });

    // The server counted the workflow's completion; the worker its SDK and project metrics.
    await waitFor('the server to count the completed workflow', async () => {
      const text = await scrape(cluster.metricsUrl);
      return metricSum(text, 'workflow_success') > metricSum(serverBefore, 'workflow_success');
    });
    const scraped = await waitFor('the worker to export its metrics', async () => {
      const text = await scrape(workerMetrics);
      return metricSum(text, `${METRIC_NAMES.processed}`) >= 5 ? text : undefined;
    });
    assert.ok(metricSum(scraped, 'temporal_activity_execution_latency_count') >= 5, 'SDK: activity latencies');
    assert.ok(metricSum(scraped, 'temporal_workflow_completed') >= 1, 'SDK: workflow completed');
    assert.ok(metricSum(scraped, `${METRIC_NAMES.bytesIn}`) > 0, 'project: bytes in');
    assert.ok(metricSum(scraped, `${METRIC_NAMES.bytesOut}`) > 0, 'project: bytes out');
    assert.ok(scraped.includes(`task_queue="${TASK_QUEUES.filter}"`), 'metrics are labelled by task queue');
    assert.ok(worker.running());
  });

  it('counts a rejected upload in the failures metric, by failure type', async () => {
    const notAPhoto = path.join(world.dir, 'notes.jpg');
    writeFileSync(notAPhoto, 'this is not an image\n');
    const handle = await startPhotoRun(client, { source: { path: notAPhoto }, filters: FILTERS, share: [] });
    await assert.rejects(handle.result());
    const text = await waitFor('the failure to be exported', async () => {
      const t = await scrape(workerMetrics);
      return t.includes('failure_type="InvalidInput"') ? t : undefined;
    });
    const line = text.split('\n').find((l) => l.startsWith(METRIC_NAMES.failures) && l.includes('InvalidInput'));
    assert.ok(line && line.includes('activityType="upload"'), `failure sample: ${line}`);
  });

  it('keeps its data across a stop and a second start on the same folder', async () => {
    await stopCluster();
    const again = await Cluster.start({
      binaries: await provisionCluster(provisionTemporalCli),
      dir: path.join(world.dir, 'cluster'),
      ui: false,
    });
    stopCluster = () => again.stop();
    const { client: second, close } = await connectTestClient(again.address);
    try {
      const description = await second.workflow
        .getHandle(completedId)
        .describe()
        .catch((err: Error) => {
          throw new Error(`describe ${completedId}: ${err.message}: ${(err.cause as Error | undefined)?.message}`, {
            cause: err,
          });
        });
      assert.equal(description.status.name, 'COMPLETED');
    } finally {
      await close();
    }
  });
});
