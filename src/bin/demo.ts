import { openSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { installQuietRuntime } from '../lib/logging';
import { SERVICE_NAMES } from '../common/task-queues';
import { openBlobStore, openObjectStore } from '../lib/blob-store';
import { loadConfig, type PhotoConfig } from '../lib/config';
import { parseFilterFlag } from '../lib/filter-flags';
import { describeProgress, describeResult, putPhotoFile, startPhotoRun, watchRun, webUiLink } from '../lib/photo-runs';
import { stateDir } from '../lib/paths';
import { samplePhotos } from '../lib/sample-photos';
import { ensureDevServer, parseServerFlags } from '../lib/local-server';
import { startPhotoSite } from '../web/photo-site';
import { createWorkers } from '../lib/workers';
import { dataConverterFor } from '../lib/payload-codec';

const HELP = `Usage: npm run demo -- [--photo FILE] [--exit]

The whole job in one command: makes sure a local Temporal dev server runs (provisioning and starting one if
needed), starts workers for every nano-service, sends a real photo through upload → resize → sepia → watermark →
gallery, and prints where the output is and the run's Web UI link. Then it keeps the server and workers up so
you can look around, until Ctrl-C; --exit stops them right after the run. The photo site (npm run web) runs beside
them, at the address it prints.

Options:
  --photo FILE   the photo to use (default: a real photograph fetched from Debian's mate-backgrounds package)
  --exit         stop what the demo started as soon as the run is done
  -h, --help     this text
Server settings as for npm run server (NANO_PHOTOS_SERVER_IP, _PORT, NANO_PHOTOS_UI_PORT, NANO_PHOTOS_SERVER_DB).`;

const DEMO_FILTERS = ['resize:width=1600', 'sepia', 'watermark:text=nano-photos demo', 'output:format=jpeg,quality=85'];

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      photo: { type: 'string' },
      exit: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return console.log(HELP);
  const photo = values.photo ? path.resolve(values.photo) : (await samplePhotos())[0];

  // SDK chatter (bundler output, worker state changes) stays out of the demo's own story.
  installQuietRuntime();
  const config = loadConfig();
  const flags = parseServerFlags([], config.localServer);
  if (flags === 'help') return;
  const logFile = path.join(stateDir, 'dev-server.log');
  const { address, uiUrl, server } = await ensureDevServer(flags, openSync(logFile, 'a'));
  console.log(
    server
      ? `Started a Temporal dev server on ${address} (log: ${logFile}).`
      : `Using the Temporal server already on ${address}.`,
  );

  // The server this demo ensured, with whatever else envconfig says (TLS, API key, namespace).
  const { options, namespace } = config.connection;
  const workerConnection = await NativeConnection.connect({ ...options, address });
  const connection = await Connection.connect({ ...options, address });
  console.log(`Starting workers for ${SERVICE_NAMES.join(', ')} (bundling the workflow code takes a few seconds)...`);
  const workers = await createWorkers({
    connection: workerConnection,
    namespace,
    services: SERVICE_NAMES,
    config,
  });
  const running = Promise.all(workers.map((w) => w.run()));
  const client = new Client({ connection, namespace, dataConverter: dataConverterFor(config.codecKeys) });
  // The photo site on the same server and stores; a busy port costs the site, not the demo.
  const site = await startPhotoSite(config, client, uiUrl).catch((err: Error) => {
    console.log(`The photo site did not start (${err.message}); NANO_PHOTOS_WEB_PORT picks another port.`);
    return undefined;
  });
  if (site) console.log(`Photo site: ${site.address}`);
  const stop = async () => {
    try {
      await site?.app.close();
      // On Ctrl-C the SDK has already begun draining the workers itself.
      for (const worker of workers) if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
      await Promise.all([connection.close(), workerConnection.close()]);
    } finally {
      await server?.child.stop();
    }
  };

  try {
    await processDemoPhoto(client, photo, uiUrl, config);
  } catch (err) {
    await stop();
    throw err;
  }
  if (values.exit) return stop();
  console.log(
    `\nThe workers${server ? ` and the dev server (pid ${server.child.pid})` : ''} keep running so you can look ` +
      'around the Web UI and start more runs with `npm run photo`' +
      (site ? ` or in the photo site at ${site.address}` : '') +
      '. Press Ctrl-C to stop them.',
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  console.log('Stopping...');
  await stop();
}

async function processDemoPhoto(client: Client, photo: string, uiUrl: string, config: PhotoConfig): Promise<void> {
  const webhook = config.webhook !== undefined;
  const handle = await startPhotoRun(client, {
    // As `npm run photo` sends a local file: its bytes through the blob store.
    source: await putPhotoFile(openBlobStore(config.blobStore), photo),
    title: path.basename(photo),
    filters: DEMO_FILTERS.map(parseFilterFlag),
    share: webhook ? ['gallery', 'webhook'] : ['gallery'],
  });
  const link = webUiLink(uiUrl, client.options.namespace, handle.workflowId);
  console.log(`\nProcessing ${photo}\n  workflow ${handle.workflowId}\n  Web UI   ${link}`);
  const result = await watchRun(handle, (p) => console.log(`  ${describeProgress(p)}`));
  console.log(`\n${describeResult(result)}`);
  const galleryIndex = openObjectStore(config.galleryStore).locationOf('index.html');
  console.log(`\nGallery: ${galleryIndex}${galleryIndex.startsWith('s3://') ? '' : ' (open it in a browser)'}`);
  console.log(`See the run step by step: ${link}`);
}

main().catch((err) => {
  console.error(`demo: ${(err as Error).message}`);
  process.exit(1);
});
