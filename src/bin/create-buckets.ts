import { parseArgs } from 'node:util';
import { createBucket, openObjectStore, probeStore, s3Client, untilS3Answers } from '../lib/blob-store';
import { loadConfig } from '../lib/config';
import { say } from '../provision/executables';

const HELP = `Usage: npm run create-buckets -- [--wait SECONDS]

Prepares the stores workers use, once per deployment (docker-compose.yml runs it as a one-shot job before the
workers): creates the buckets that NANO_PHOTOS_BLOB_URL and NANO_PHOTOS_GALLERY_URL name (s3 stores) unless they
exist, then checks every store the way a worker does at start (writes, reads, lists and deletes a small object).
Reads the workers' settings (see \`npm run worker -- --help\`). Exit code 0 when every store is usable.

Options:
  --wait SECONDS   how long to wait for the S3 service to answer (default 60)
  -h, --help       this text`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { wait: { type: 'string', default: '60' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    console.log(HELP);
    return;
  }
  const wait = Number(values.wait);
  if (!Number.isInteger(wait) || wait < 0 || wait > 3600)
    throw new Error(`--wait: expected whole seconds between 0 and 3600, received ${values.wait}`);
  const config = loadConfig();
  for (const [what, settings] of [
    ['blob store', config.blobStore],
    ['gallery', config.galleryStore],
  ] as const) {
    if (settings.driver === 's3') {
      const endpoint = settings.s3.endpoint ?? 'AWS';
      const client = s3Client(settings.s3);
      try {
        await untilS3Answers(client, endpoint, wait * 1000);
        const outcome = await createBucket(client, settings.bucket, settings.s3.region).catch((err: Error) => {
          throw new Error(
            `could not create bucket "${settings.bucket}" (${settings.setting}) at ${endpoint}: ${err.name}: ` +
              `${err.message}; check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE) and AWS_REGION`,
          );
        });
        say(`${what}: bucket "${settings.bucket}" at ${endpoint} ${outcome === 'created' ? 'created' : 'exists'}`);
      } finally {
        client.destroy();
      }
    }
    const store = openObjectStore(settings);
    await probeStore(store, what);
    say(`${what}: ${store.location} is usable`);
  }
}

if (require.main === module) {
  main().catch((err) => {
    console.error(`create-buckets: ${(err as Error).message}`);
    process.exit(1);
  });
}
