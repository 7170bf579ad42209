import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig, parsePort } from '../lib/config';
import { DEFAULT_BUCKET, startS3Server } from '../lib/s3-server';
import { say } from '../provision/executables';

const HELP = `Usage: npm run s3 -- [--port N] [--dir DIR] [--bucket NAME]

Starts a local S3-compatible server (versitygw, built from the Go module proxy the first time) on 127.0.0.1,
serving a folder, creates the bucket, and prints the settings workers on it need. Ctrl-C stops it.

Options:
  --port N        listen port (default: a free one)
  --dir DIR       the folder served, one sub-folder per bucket (default: <NANO_PHOTOS_DATA_DIR>/s3, i.e. .data/s3)
  --bucket NAME   the bucket for blobs and gallery (default: ${DEFAULT_BUCKET})

The credentials are new on every start: give workers the settings printed, each time.`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      dir: { type: 'string' },
      bucket: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(HELP);
    return;
  }
  const dir = path.resolve(values.dir ?? path.join(loadConfig().dataDir, 's3'));
  const server = await startS3Server({
    dir,
    port: values.port === undefined ? undefined : parsePort('--port', values.port),
    bucket: values.bucket,
    logFile: process.stderr.fd,
  });
  say(`S3 server (versitygw, pid ${server.pid}) on ${server.endpoint}, serving ${dir}. Ctrl-C stops it.`);
  say('Settings for workers and callers on this server (the gallery goes under gallery/ in the same bucket):');
  for (const [key, value] of Object.entries(server.env())) console.log(`export ${key}=${value}`);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => void server.stop());
  await server.whenExited();
  say('S3 server stopped.');
}

if (require.main === module) {
  main().catch((err) => {
    console.error(`s3: ${(err as Error).message}`);
    process.exit(1);
  });
}
