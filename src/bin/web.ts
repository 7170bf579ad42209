import { loadConfig } from '../lib/config';
import { connectClient } from '../lib/connection';
import { startPhotoSite } from '../web/photo-site';

const HELP = `Usage: npm run web

The photo site: upload photos in a browser, pick filters, follow each run live, approve before publishing, browse
the gallery; and the JSON API beside it (see the README). Uploaded photos go into the blob store the workers use,
so workers (npm run worker) may run anywhere that reaches the store and the Temporal server.

Settings (environment): NANO_PHOTOS_WEB_HOST (default 127.0.0.1), NANO_PHOTOS_WEB_PORT (default 8080),
NANO_PHOTOS_WEB_MAX_FILES (photos per upload, default 20), NANO_PHOTOS_MAX_UPLOAD_BYTES (per photo, default 50 MiB);
the blob store and gallery as for the workers (NANO_PHOTOS_DATA_DIR); the Temporal connection as for every client
(TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, ...); TEMPORAL_UI_URL for the Web UI links. Ctrl-C stops it.`;

async function main(): Promise<void> {
  if (process.argv.slice(2).some((a) => a === '-h' || a === '--help')) return console.log(HELP);
  const config = loadConfig();
  const client = await connectClient(config.connection);
  const { app, address } = await startPhotoSite(config, client);
  console.log(`nano-photos web app on ${address}  (Temporal at ${config.connection.address}; Ctrl-C stops it)`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await app.close();
  await client.connection.close();
}

main().catch((err) => {
  console.error(`web: ${(err as Error).message}`);
  process.exit(1);
});
