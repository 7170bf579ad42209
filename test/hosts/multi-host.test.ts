import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { applyChainInProcess } from '../../src/bench/monolith-chain';
import { sha256 } from '../../src/lib/blob-store';
import { devServerArgs } from '../../src/lib/dev-server';
import { projectRoot } from '../../src/lib/project-root';
import { DEFAULT_BUCKET, versitygwCommand } from '../../src/lib/s3-server';
import { provisionTemporalCli } from '../../src/provision/temporal-cli';
import { provisionVersitygw } from '../../src/provision/versitygw';
import { canCreateHosts, TestNetwork, type Host, type HostProcess } from '../support/hosts';
import { HOSTS_CHAIN, type CallerResult } from './caller';

/*
 * Four machines that share no disk, as network namespaces: Temporal and the S3 server on `infra`; the workflow
 * worker and a caller on host1; upload and a filter worker on host2; a filter and the share worker on host3. Each
 * host is told only about its own folder. 100 photos go from the caller through the blob store, while one filter
 * host is SIGKILLed (and later restarted) and the S3 server is stopped for 20 s.
 */

const RUNS = 100;
const TEMPORAL_PORT = 7233;
const S3_PORT = 7070;
const S3_OUTAGE_MS = 20_000;

describe('nano-services on hosts that share no disk', { skip: !canCreateHosts() && 'needs root and iproute2' }, () => {
  let net: TestNetwork;
  let infra: Host, host1: Host, host2: Host, host3: Host;
  let startS3: () => Promise<HostProcess>;
  let workerEnv: (host: Host) => NodeJS.ProcessEnv;

  const startWorker = (host: Host, services: string) =>
    net.start(
      host,
      `worker-${services}`,
      process.execPath,
      ['--import', 'tsx', 'src/bin/worker.ts', '--services', services],
      {
        cwd: projectRoot,
        env: workerEnv(host),
        ready: /^worker \d+: serving /m,
      },
    );

  async function until(what: string, check: () => boolean, timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  before(async () => {
    const [cli, versitygw] = [await provisionTemporalCli(), await provisionVersitygw()];
    net = TestNetwork.create(['infra', 'host1', 'host2', 'host3']);
    [infra, host1, host2, host3] = net.hosts;

    const temporal = `${infra.address}:${TEMPORAL_PORT}`;
    // All of infra's addresses: the dev server's own services dial each other on 127.0.0.1 whatever --ip says.
    const args = devServerArgs({ ip: '0.0.0.0', port: TEMPORAL_PORT, uiPort: false });
    await net.start(infra, 'temporal', cli, args, { env: { ...process.env, TEMPORAL_VERSION_CHECK_DISABLED: '1' } });
    const health = ['operator', 'cluster', 'health', '--address', temporal];
    await until('the Temporal server', () => net.exec(infra, cli, health) === 0, 60_000);

    // A bucket of versitygw's posix backend is a folder of the folder it serves.
    const s3Dir = path.join(infra.dir, 's3');
    mkdirSync(path.join(s3Dir, DEFAULT_BUCKET), { recursive: true });
    const credentials = {
      accessKeyId: `hosts-${randomBytes(4).toString('hex')}`,
      secretAccessKey: randomBytes(24).toString('hex'),
    };
    const endpoint = `http://${infra.address}:${S3_PORT}`;
    const command = versitygwCommand(`${infra.address}:${S3_PORT}`, s3Dir, credentials);
    const answers = ['-e', `fetch(${JSON.stringify(endpoint)}).then(() => process.exit(0), () => process.exit(1))`];
    startS3 = async () => {
      const s3 = await net.start(infra, 's3', versitygw, command.args, { env: { ...process.env, ...command.env } });
      await until('the S3 server', () => net.exec(infra, process.execPath, answers) === 0, 30_000);
      return s3;
    };
    await startS3();

    // What a worker on another machine needs: the server's address, the store's URL, endpoint and credentials.
    const base = Object.fromEntries(
      Object.entries(process.env).filter(([k]) => !/^(TEMPORAL_|NANO_PHOTOS_|AWS_)/.test(k)),
    );
    workerEnv = (host) => ({
      ...base,
      MALLOC_ARENA_MAX: '2',
      TEMPORAL_ADDRESS: temporal,
      TEMPORAL_NAMESPACE: 'default',
      NANO_PHOTOS_DATA_DIR: host.dir,
      NANO_PHOTOS_BLOB_URL: `s3://${DEFAULT_BUCKET}`,
      NANO_PHOTOS_S3_ENDPOINT: endpoint,
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      AWS_REGION: 'us-east-1',
    });
    await Promise.all([
      startWorker(host1, 'workflow'),
      startWorker(host2, 'upload'),
      startWorker(host2, 'filter'),
      startWorker(host3, 'filter'),
      startWorker(host3, 'share'),
    ]);
  });

  after(async () => {
    await net?.destroy();
  });

  it(`${RUNS} runs complete through a filter host's SIGKILL and a ${S3_OUTAGE_MS / 1000} s S3 outage, byte-identical, each in the gallery once`, async () => {
    // The caller's photos are on its own disk only.
    const photoDir = path.join(host1.dir, 'photos');
    mkdirSync(photoDir);
    const photos: string[] = [];
    for (let i = 0; i < RUNS; i++) {
      const file = path.join(photoDir, `photo-${i}.jpg`);
      const background = { r: (i * 37) % 256, g: (i * 91) % 256, b: (i * 53) % 256 };
      const create = {
        width: 480 + i,
        height: 360,
        channels: 3 as const,
        background,
        noise: { type: 'gaussian' as const, mean: 128, sigma: 30 },
      };
      writeFileSync(file, await sharp({ create }).jpeg({ quality: 90 }).toBuffer());
      photos.push(file);
    }
    const photosFile = path.join(host1.dir, 'photos.json');
    const resultsFile = path.join(host1.dir, 'results.json');
    writeFileSync(photosFile, JSON.stringify(photos));

    const caller = await net.start(
      host1,
      'caller',
      process.execPath,
      ['--import', 'tsx', 'test/hosts/caller.ts', photosFile, resultsFile, 'hosts'],
      { cwd: projectRoot, env: workerEnv(host1) },
    );
    const done = () => Math.max(0, ...[...caller.output().matchAll(/^done (\d+)$/gm)].map((m) => Number(m[1])));
    const callerFailed = () => !caller.running() && !caller.output().includes('finished');

    // Fault 1: every process of filter host 2 SIGKILLed mid-run; the machine comes back 5 s later.
    await until('the first runs to finish', () => done() >= 10 || callerFailed(), 300_000);
    const killedOn = net.processesOn(host2);
    assert.equal(killedOn.length, 2, 'host2 runs its upload and filter workers');
    const doneAtKill = done();
    await Promise.all(killedOn.map((p) => p.kill('SIGKILL')));
    await new Promise((r) => setTimeout(r, 5_000));
    await Promise.all([startWorker(host2, 'upload'), startWorker(host2, 'filter')]);

    // Fault 2: the S3 server stopped for 20 s, then started again on the same folder.
    await until('more runs to finish', () => done() >= doneAtKill + 10 || callerFailed(), 300_000);
    const doneAtOutage = done();
    const [s3] = net.processesOn(infra).filter((p) => p.label === 's3');
    await s3.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, S3_OUTAGE_MS));
    await startS3();

    await until('the caller to finish', () => !caller.running(), 600_000);
    assert.match(caller.output(), /finished/, caller.output());
    assert.ok(
      doneAtKill < RUNS && doneAtOutage < RUNS,
      `both faults landed mid-run (${doneAtKill}, ${doneAtOutage} of ${RUNS} done)`,
    );

    const result: CallerResult = JSON.parse(readFileSync(resultsFile, 'utf8'));
    assert.deepEqual(
      result.runs.filter((r) => r.error),
      [],
      'every run completed',
    );
    for (const run of result.runs) {
      const reference = sha256(await applyChainInProcess(readFileSync(run.photo), HOSTS_CHAIN));
      assert.equal(run.outputSha256, reference, `${run.workflowId}: the same bytes as one process makes`);
    }
    assert.equal(result.gallerySidecars.length, RUNS, 'the shared gallery holds one entry per run');
    for (const run of result.runs) {
      const entries = result.gallerySidecars.filter((name) => name.startsWith(`${run.workflowId}_gallery-`));
      assert.equal(entries.length, 1, `${run.workflowId} is in the gallery exactly once`);
    }
    // No host kept image data on its own disk: the store and gallery are shared, the caller's photos stay home.
    for (const host of [host2, host3]) {
      const files = readdirSync(host.dir, { recursive: true, encoding: 'utf8' });
      assert.deepEqual(
        files.filter((f) => /\.(jpg|raw|png|json)$/.test(f)),
        [],
        `${host.name} stored no images`,
      );
    }
  });
});
