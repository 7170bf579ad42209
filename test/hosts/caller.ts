import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { innermostMessage } from '../../src/common/failures';
import type { FilterStep } from '../../src/common/types';
import { openBlobStore, openObjectStore, sha256 } from '../../src/lib/blob-store';
import { loadConfig } from '../../src/lib/config';
import { connectClient } from '../../src/lib/connection';
import { putPhotoFile, startPhotoRun } from '../../src/lib/photo-runs';

/**
 * The caller of the multi-host test, run on a host with no worker: like `npm run photo`, it puts each local photo
 * into the shared blob store and starts a run with its key, then waits for every run, reads each output back from
 * the store and lists the shared gallery. Everything it learns it writes as JSON for the test to check; a line on
 * stdout per finished run lets the test time its faults.
 *
 * Usage: caller.ts <photos.json: absolute paths> <results.json> <workflow ID prefix>
 */
export const HOSTS_CHAIN: FilterStep[] = [
  { filter: 'resize', params: { width: 320 } },
  { filter: 'sepia' },
  { filter: 'output', params: { format: 'jpeg', quality: 80 } },
];

/** Reads of an output are retried a second apart for this long: longer than the test's S3 outage. */
const READ_ATTEMPTS = 60;

export interface CallerResult {
  runs: { workflowId: string; photo: string; outputKey?: string; outputSha256?: string; error?: string }[];
  /** The gallery's sidecars, one per published entry. */
  gallerySidecars: string[];
}

async function main([photosFile, resultsFile, prefix]: string[]): Promise<void> {
  const photos: string[] = JSON.parse(readFileSync(photosFile, 'utf8'));
  const config = loadConfig();
  const store = openBlobStore(config.blobStore);
  const client = await connectClient(config.connection);
  // A run that finishes as the test stops the S3 server has its result before the store is back: the caller reads
  // the output as a client would, retrying through the outage (the test's runs must ride it out, not its reads).
  const readOutput = async (key: string): Promise<Buffer> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await store.get(key);
      } catch (err) {
        if (attempt >= READ_ATTEMPTS) throw err;
        await new Promise((resolve) => setTimeout(resolve, 1_000));
      }
    }
  };
  const handles = [];
  for (const [index, photo] of photos.entries()) {
    const source = await putPhotoFile(store, photo);
    const input = { source, filters: HOSTS_CHAIN, share: ['gallery' as const], title: path.basename(photo) };
    handles.push(await startPhotoRun(client, input, `${prefix}-${index}`));
  }
  console.log(`started ${handles.length}`);
  let done = 0;
  const runs = await Promise.all(
    handles.map(async (handle, index) => {
      const run = { workflowId: handle.workflowId, photo: photos[index] };
      let result;
      try {
        result = await handle.result();
      } catch (err) {
        return { ...run, error: `run: ${innermostMessage(err)}` };
      }
      try {
        const output = await readOutput(result.output.key);
        return { ...run, outputKey: result.output.key, outputSha256: sha256(output) };
      } catch (err) {
        return { ...run, error: `reading the output: ${innermostMessage(err)}` };
      } finally {
        console.log(`done ${++done}`);
      }
    }),
  );
  const gallery = openObjectStore(config.galleryStore);
  const gallerySidecars = (await gallery.list('', '.json')).map((o) => o.name);
  const result: CallerResult = { runs, gallerySidecars };
  writeFileSync(resultsFile, JSON.stringify(result, null, 2));
  await client.connection.close();
  console.log('finished');
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    () => process.exit(0),
    (err) => {
      console.error(`caller: ${innermostMessage(err)}\n${(err as Error).stack ?? err}`);
      process.exit(1);
    },
  );
}
