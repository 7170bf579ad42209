import { parseArgs } from 'node:util';
import { createCodecServer } from '../lib/codec-server';
import { loadConfig } from '../lib/config';
import { AesGcmCodec } from '../lib/payload-codec';

const HELP = `Usage: npm run codec-server

Serves the payload codec to the Temporal Web UI, so that runs encrypted with NANO_PHOTOS_CODEC_KEYS show decoded
there. Listens on 127.0.0.1:NANO_PHOTOS_CODEC_PORT (default 8888) and answers only the UI's origin
(TEMPORAL_UI_URL, default http://127.0.0.1:8233). In the Web UI, set the codec endpoint to
http://127.0.0.1:8888 (the Data Encoder settings), or start the dev server with --ui-codec-endpoint. Ctrl-C stops it.`;

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { help: { type: 'boolean', short: 'h' } } });
  if (values.help) return console.log(HELP);
  const config = loadConfig();
  if (!config.codecKeys) {
    throw new Error('NANO_PHOTOS_CODEC_KEYS is not set: payloads are not encrypted, so there is nothing to decode');
  }
  const uiOrigin = new URL(config.uiUrl).origin;
  const server = createCodecServer(new AesGcmCodec(config.codecKeys), uiOrigin);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.codecPort, '127.0.0.1', resolve);
  });
  console.log(`codec server on http://127.0.0.1:${config.codecPort}, for the Web UI at ${uiOrigin}`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await new Promise((resolve) => server.close(resolve));
}

main().catch((err) => {
  console.error(`codec-server: ${(err as Error).message}`);
  process.exit(1);
});
