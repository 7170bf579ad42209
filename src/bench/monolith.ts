import path from 'node:path';
import sharp from 'sharp';
import { applyChainInProcess } from './monolith-chain';
import { createShareActivities } from '../../activities/share/activities';
import { createUploadActivities } from '../../activities/upload/upload';
import { openBlobStore, openObjectStore } from '../lib/blob-store';
import { loadConfig } from '../lib/config';
import { tuneProcess } from '../lib/process-tuning';
import { inFlight } from './stats';
import { WORKLOAD_FILTERS, WORKLOAD_SHARE, type JobTiming } from './workload';

/**
 * Mode (a), the monolith, as its own process (so its CPU and RSS are measured like the workers'): the same photo
 * job with the same code in one process, no Temporal. `job` runs what the pipeline's services run, in turn and in
 * memory: the upload's checks (a full decode) and store, the filter chain with raw intermediates held in memory
 * (applyChainInProcess), the encoded output into the store, the gallery share. `filters` runs the filter chain
 * alone on photos already in memory, for reference.
 *
 * Protocol (IPC): parent sends `{ type: 'config', config }`; child warms up and answers `ready`; then, as often as
 * the parent likes, `{ type: 'run', jobs }` is answered by `{ type: 'done', timings }` once those photos are done.
 */

export interface MonolithConfig {
  kind: 'job' | 'filters';
  warmup: string[];
  inFlight: number;
  dataDir: string;
}

async function main(config: MonolithConfig): Promise<void> {
  const settings = loadConfig({ ...process.env, NANO_PHOTOS_DATA_DIR: config.dataDir });
  tuneProcess(settings.imagePriority);
  const store = openBlobStore(settings.blobStore);
  const { upload } = createUploadActivities({ store, limits: settings.upload });
  const { shareGallery } = createShareActivities({ store, gallery: openObjectStore(settings.galleryStore) });
  const filterNames = WORKLOAD_FILTERS.map((s) => s.filter);
  const preloaded = new Map<string, Buffer>();
  let loadPhoto: ((photo: string) => Promise<Buffer>) | undefined;
  if (config.kind === 'filters') {
    const { readFile } = await import('node:fs/promises');
    loadPhoto = async (photo) => preloaded.get(photo) ?? preloaded.set(photo, await readFile(photo)).get(photo)!;
  }

  let run = 0;
  const job = async (photo: string): Promise<string | undefined> => {
    const n = run++;
    if (config.kind === 'filters') {
      await applyChainInProcess(preloaded.get(photo)!, WORKLOAD_FILTERS); // loaded before the round's clock starts
      return undefined;
    }
    const original = await upload({ path: photo });
    const output = await applyChainInProcess(await store.get(original.key), WORKLOAD_FILTERS);
    const blob = await store.put(output, 'jpg');
    const { width = 0, height = 0, channels = 0 } = await sharp(output).metadata();
    const image = { ...blob, format: 'jpeg' as const, width, height, channels };
    for (const target of WORKLOAD_SHARE) {
      if (target !== 'gallery') continue;
      await shareGallery({
        image,
        idempotencyKey: `monolith-${process.pid}-${n}:gallery`,
        title: path.basename(photo),
        filters: filterNames,
      });
    }
    return blob.key;
  };

  for (const photo of config.warmup) await loadPhoto?.(photo);
  await inFlight(config.warmup, config.inFlight, job);
  process.send!({ type: 'ready' });
  process.on('message', (message: { type: string; jobs: string[] }) => {
    if (message.type !== 'run') return;
    void (async () => {
      for (const photo of message.jobs) await loadPhoto?.(photo);
      const t0 = performance.now();
      const timings = await inFlight(message.jobs, config.inFlight, async (photo): Promise<JobTiming> => {
        const startMs = performance.now() - t0;
        const output = await job(photo);
        return { photo, startMs, endMs: performance.now() - t0, output };
      });
      process.send!({ type: 'done', timings });
    })().catch(fail);
  });
}

function fail(err: unknown): never {
  console.error(`monolith: ${(err as Error).stack}`);
  process.exit(1);
}

process.once('message', (message: { type: string; config: MonolithConfig }) => {
  main(message.config).catch(fail);
});
// The parent going away (it was stopped, or it failed) ends this process too.
process.on('disconnect', () => process.exit(0));
