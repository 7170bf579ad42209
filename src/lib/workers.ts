import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { mkdir } from 'node:fs/promises';
import { NativeConnection, Worker, type ActivityInterceptorsFactory, type WorkerOptions } from '@temporalio/worker';
import { SERVICE_NAMES, TASK_QUEUES, type ServiceName } from '../common/task-queues';
import { openBlobStore, openObjectStore, probeStore, type ContentAddressedStore, type ObjectStore } from './blob-store';
import type { PhotoConfig } from './config';
import { activityMetrics, meteredStore } from './metrics';
import { enableTestMarkers } from './test-markers';
import { dataConverterFor } from './payload-codec';

/**
 * Concurrency sized for a 2-core machine: sharp work runs on libuv's pool (UV_THREADPOOL_SIZE, 4 by default), so at
 * most four images are worked on at once in a process, which keeps both cores busy without piling up memory; shares
 * and uploads mostly wait on I/O. Filters take 8 tasks (one per photo of `npm run bench`'s 8 in flight): the extra
 * ones wait inside the worker for a pool thread instead of in the task queue, so each next step starts the moment
 * the previous one ends. Measured: the median activity-to-activity hop at 8 photos in flight fell from about 50-100 ms
 * (mostly waiting for a free filter slot) to about 20 ms, for the same throughput and about 50 MB more peak RSS.
 */
export const DEFAULT_CONCURRENCY: Record<ServiceName, number> = { workflow: 40, upload: 4, filter: 8, share: 16 };

/** How long running activities may finish after SIGINT/SIGTERM before the process exits anyway. */
export const SHUTDOWN_GRACE_TIME = '30 seconds';

export interface WorkerSetup {
  connection: NativeConnection;
  namespace: string;
  services: readonly ServiceName[];
  config: PhotoConfig;
  concurrency?: Partial<Record<ServiceName, number>>;
  /** Prebuilt workflow code (tests bundle once); otherwise the worker bundles `workflows/` itself. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  /** How long running activities may finish after a shutdown signal. */
  shutdownGraceTime?: WorkerOptions['shutdownGraceTime'];
  /** Wrapped around every activity the workers run (tests observe runs from inside their activities with these). */
  activityInterceptors?: ActivityInterceptorsFactory[];
}

import { prebuiltWorkflowBundle, workflowsPath } from './paths';

/**
 * The workflow code: the caller's bundle; else, when this process runs compiled code (src/bin/run-node.sh picks it
 * only while it is newer than every source), the bundle `npm run build` made with it; else bundled here with webpack
 * (seconds of CPU and about 100 MB of memory that stays), which with payload encryption on includes its failure
 * converter.
 */
function workflowCode(setup: WorkerSetup): Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath'> {
  if (setup.workflowBundle) return { workflowBundle: setup.workflowBundle };
  // The prebuilt bundle has the default failure converter; with payload encryption on, the worker bundles its own.
  const encrypted = setup.config.codecKeys !== undefined;
  if (!encrypted && __filename.endsWith('.js') && existsSync(prebuiltWorkflowBundle))
    return { workflowBundle: { codePath: prebuiltWorkflowBundle } };
  return { workflowsPath };
}

/** Services that read and write blobs (the workflow passes only references to them), and the one that publishes. */
export const BLOB_STORE_SERVICES: readonly ServiceName[] = SERVICE_NAMES.filter((s) => s !== 'workflow');
export const GALLERY_SERVICES: readonly ServiceName[] = ['share'];

interface Stores {
  store: ContentAddressedStore;
  gallery: ObjectStore;
}

/**
 * The stores this process's services use, each proven usable first: a wrong bucket, key or folder stops the worker
 * at start with the setting to fix, not at its first photo.
 */
async function openStores(setup: WorkerSetup): Promise<Stores> {
  const store = openBlobStore(setup.config.blobStore);
  const gallery = openObjectStore(setup.config.galleryStore);
  if (setup.services.some((s) => BLOB_STORE_SERVICES.includes(s))) await probeStore(store.objects, 'blob store');
  if (setup.services.some((s) => GALLERY_SERVICES.includes(s))) await probeStore(gallery, 'gallery');
  return { store, gallery };
}

/**
 * A service's activities, their modules loaded only here: a process loads the code of the services it runs (the
 * workflow and share workers do without sharp and libvips).
 */
async function activitiesFor(
  service: Exclude<ServiceName, 'workflow'>,
  setup: WorkerSetup,
  stores: Stores,
  heldQueue: string,
): Promise<object> {
  const store = meteredStore(stores.store, service);
  const gallery = stores.gallery;
  switch (service) {
    case 'upload': {
      const { createUploadActivities } = await import('../../activities/upload/upload.js');
      return createUploadActivities({ store, limits: setup.config.upload });
    }
    case 'filter': {
      const [filters, chain, fit, scratch, sweep, { PixelBudget }, { HeldImages }] = await Promise.all([
        import('../../activities/filters/activities.js'),
        import('../../activities/filters/fused-chain.js'),
        import('../../activities/filters/fit-image.js'),
        import('../../activities/store/scratch.js'),
        import('../../activities/store/sweep.js'),
        import('../../activities/shared/pixel-budget.js'),
        import('../../activities/filters/held-images.js'),
      ]);
      // One budget for every filter activity of this worker, the fused chain's included.
      const deps = {
        store,
        delayMs: setup.config.filterDelayMs,
        budget: new PixelBudget(setup.config.filterPixelBudget),
      };
      return {
        ...filters.createFilterActivities({ ...deps, held: new HeldImages(), heldQueue }),
        // applyChain: adjacent filters of one request in one activity, when the workflow input asks for it (fuse).
        ...chain.createChainActivities(deps),
        // fitImage: the output as a share target takes it (Bluesky's size limits), when the run shares there.
        ...fit.createFitActivities({ store }),
        // deleteScratch: a run's intermediates, when it ends; sweepStore: the store's retention.
        ...scratch.createScratchActivities({ store: stores.store }),
        ...sweep.createSweepActivities({ store: stores.store, retentionMs: setup.config.retentionMs }),
      };
    }
    case 'share': {
      const { createShareActivities } = await import('../../activities/share/activities.js');
      return createShareActivities({
        store,
        gallery,
        webhook: setup.config.webhook,
        bluesky: setup.config.bluesky,
        killAfterBlueskyPost: setup.config.killAfterBlueskyPost,
      });
    }
  }
}

/** A workflow worker's limits for `limit` workflow tasks at once (the benchmark's plain pipeline gets the same). */
export function workflowWorkerOptions(
  limit: number,
): Pick<WorkerOptions, 'maxConcurrentWorkflowTaskExecutions' | 'maxCachedWorkflows'> {
  return { maxConcurrentWorkflowTaskExecutions: Math.min(limit, 40), maxCachedWorkflows: Math.max(limit * 10, 100) };
}

/** One Temporal worker per chosen service, each polling its own task queue. */
export async function createWorkers(setup: WorkerSetup): Promise<Worker[]> {
  const { inboxDir, upload } = setup.config;
  // The default upload root: made here so that a fresh install has a place to put photos.
  if (setup.services.includes('upload') && upload.allowedRoots.includes(inboxDir)) {
    await mkdir(inboxDir, { recursive: true });
  }
  const common = {
    connection: setup.connection,
    namespace: setup.namespace,
    dataConverter: dataConverterFor(setup.config.codecKeys),
    shutdownGraceTime: setup.shutdownGraceTime ?? SHUTDOWN_GRACE_TIME,
  };
  const stores = await openStores(setup);
  const heldQueue = ownFilterQueue();
  // Crash tests mark (and may hold at) points of image work: only after the start-up probe, which writes too.
  if (setup.config.testMarkers) enableTestMarkers(setup.config.testMarkers);
  return Promise.all(
    setup.services.map(async (service) => {
      const limit = setup.concurrency?.[service] ?? DEFAULT_CONCURRENCY[service];
      if (service === 'workflow') {
        return Worker.create({
          ...common,
          taskQueue: TASK_QUEUES.workflow,
          ...workflowWorkerOptions(limit),
          ...workflowCode(setup),
        });
      }
      const options = {
        ...common,
        activities: await activitiesFor(service, setup, stores, heldQueue),
        maxConcurrentActivityTaskExecutions: limit,
        interceptors: { activity: [activityMetrics(service), ...(setup.activityInterceptors ?? [])] },
      };
      // A filter worker also polls a queue of its own: the steps whose input it holds in memory.
      const queues = service === 'filter' ? [TASK_QUEUES.filter, heldQueue] : [TASK_QUEUES[service]];
      return Promise.all(queues.map((taskQueue) => Worker.create({ ...options, taskQueue })));
    }),
  ).then((groups) => groups.flat());
}

/**
 * This process's own filter queue (runs with `intermediates: 'memory'` send it the steps whose input it holds):
 * unique to the process, readable in the Web UI.
 */
function ownFilterQueue(): string {
  return `${TASK_QUEUES.filter}-held-${hostname().replace(/[^A-Za-z0-9_.-]/g, '_')}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

/** `--services` as given on a command line: a comma-separated list, or `all`. */
export function parseServices(list: string | undefined): ServiceName[] {
  if (list === undefined || list === 'all') return [...SERVICE_NAMES];
  const services = list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const service of services) {
    if (!SERVICE_NAMES.includes(service as ServiceName)) {
      throw new Error(
        `--services: unknown service "${service}"; expected a comma-separated list of ${SERVICE_NAMES.join(', ')}`,
      );
    }
  }
  if (services.length === 0) throw new Error(`--services: expected at least one of ${SERVICE_NAMES.join(', ')}`);
  return [...new Set(services)] as ServiceName[];
}
