import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { PHOTO_SEARCH_ATTRIBUTES } from '../common/search-attributes';
import { SERVICE_NAMES } from '../common/task-queues';
import { startBlueskyNetwork, type BlueskyNetwork } from '../lib/bluesky-network';
import { loadConfig } from '../lib/config';
import { RECEIVER_SECRET, recordScenario, SCENARIOS, smallJpeg, startReceiver } from '../lib/history-scenarios';
import { projectRoot } from '../lib/project-root';
import { provisionTemporalCli } from '../provision/temporal-cli';
import { createWorkers } from '../lib/workers';

const help = (
  scenarios: string,
) => `Usage: npm run record-histories -- [--tag TAG] [--only NAME,...] [--out DIR] [--force]

Records real histories of processPhoto for the replay test (test/replay.test.ts): starts a throwaway Temporal dev
server, real workers for every nano-service and a local webhook receiver, runs a few representative photos and
writes each run's history to <out>/<scenario>-<tag>.json (the JSON that \`temporal workflow show -o json\` prints).
The file name is also the run's workflow ID, which the replay test passes to the replayer.

Keep the fixtures of earlier tags: they stand for runs that may still be open when new code is deployed, and the
replay test checks the current code against every one of them. Record a new tag after each workflow change.

Options:
  --tag TAG        suffix of the file names, e.g. v3 (default: today's date, YYYYMMDD)
  --only A,B       record only these scenarios (default: all)
  --out DIR        where to write (default: test/fixtures)
  --force          replace fixtures that already exist (by default an existing tag is never overwritten)
  -h, --help       this text

Scenarios:
${scenarios}`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      tag: { type: 'string' },
      only: { type: 'string' },
      out: { type: 'string' },
      force: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    return console.log(help(SCENARIOS.map((s) => `  ${s.name.padEnd(15)}  ${s.about}`).join('\n')));
  }
  const tag = values.tag ?? new Date().toISOString().slice(0, 10).replace(/-/g, '');
  if (!/^[A-Za-z0-9._-]{1,40}$/.test(tag))
    throw new Error(`--tag must be 1-40 letters, digits, '.', '_' or '-', received ${JSON.stringify(tag)}`);
  const only = values.only?.split(',').filter(Boolean);
  const unknown = only?.filter((name) => !SCENARIOS.some((s) => s.name === name));
  if (unknown?.length)
    throw new Error(
      `unknown scenario(s) ${unknown.join(', ')}; expected some of ${SCENARIOS.map((s) => s.name).join(', ')}`,
    );
  const chosen = SCENARIOS.filter((s) => !only || only.includes(s.name));
  const outDir = path.resolve(values.out ?? path.join(projectRoot, 'test', 'fixtures'));
  const existing = chosen.map((s) => path.join(outDir, `${s.name}-${tag}.json`)).filter((f) => existsSync(f));
  if (existing.length && !values.force) {
    throw new Error(
      `${existing.map((f) => path.relative(process.cwd(), f)).join(', ')} already exist: they stand for runs of the code they ` +
        'were recorded with. Record under a new --tag, or pass --force to replace them.',
    );
  }

  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nano-photos-record-'));
  const receiver = await startReceiver(RECEIVER_SECRET);
  const config = {
    ...loadConfig({ NANO_PHOTOS_DATA_DIR: dir }),
    webhook: { url: receiver.url, secret: RECEIVER_SECRET },
  };
  mkdirSync(config.inboxDir, { recursive: true });
  const photo = path.join(config.inboxDir, 'photo.jpg');
  writeFileSync(photo, await smallJpeg(96, 64));
  let bluesky: BlueskyNetwork | undefined;

  console.log('Starting a throwaway Temporal dev server...');
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: await provisionTemporalCli() },
      ip: '127.0.0.1',
      searchAttributes: PHOTO_SEARCH_ATTRIBUTES,
      log: { format: 'pretty', level: 'error' },
    },
  });
  try {
    // Only when a chosen scenario shares there: the local network takes seconds to start (minutes to provision).
    if (chosen.some((s) => s.input(photo).share?.includes('bluesky'))) {
      console.log('Starting a local Bluesky network (PDS and PLC directory)...');
      bluesky = await startBlueskyNetwork();
      config.bluesky = (await bluesky.createAccount('recorder')).settings;
    }
    console.log('Starting workers for every nano-service (bundling the workflow code takes a few seconds)...');
    const workers = await createWorkers({
      connection: env.nativeConnection,
      namespace: env.namespace ?? 'default',
      services: SERVICE_NAMES,
      config,
      shutdownGraceTime: '5 seconds',
    });
    const running = Promise.all(workers.map((w) => w.run()));
    const recorded: { file: string; bytes: number }[] = [];
    try {
      for (const scenario of chosen) {
        const workflowId = `${scenario.name}-${tag}`;
        const { outcome, text } = await recordScenario(env.client, scenario, workflowId, photo, receiver);
        mkdirSync(outDir, { recursive: true });
        const file = path.join(outDir, `${workflowId}.json`);
        writeFileSync(file, text);
        recorded.push({ file, bytes: text.length });
        console.log(`  ${scenario.name}: ${outcome.slice(0, 160)}`);
      }
    } finally {
      for (const w of workers) w.shutdown();
      await running;
    }
    console.log(`\nWrote ${recorded.length} histories:`);
    for (const r of recorded)
      console.log(`  ${path.relative(process.cwd(), r.file)} (${(r.bytes / 1024).toFixed(1)} KiB)`);
  } finally {
    await env.teardown();
    await bluesky?.stop();
    await receiver.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  main().catch((err) => {
    console.error(`record-histories: ${(err as Error).message}`);
    process.exitCode = 1;
  });
}
