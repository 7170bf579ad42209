import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { after, before } from 'node:test';
import { FileBlobStore } from '../../src/lib/blob-store';
import { startChild, waitForOutput, type Child } from '../../src/lib/child-processes';
import { loadConfig, type PhotoConfig } from '../../src/lib/config';
import { startDevServer, type DevServer } from '../../src/lib/dev-server';
import { projectRoot } from '../../src/lib/project-root';
import { freePort } from '../../src/lib/free-port';
import { startPhotoRun } from '../../src/lib/photo-runs';
import { SHUTDOWN_GRACE_TIME } from '../../src/lib/workers';
import { msToNumber } from '@temporalio/common/lib/time';
import { SERVICE_NAMES, type ServiceName } from '../../src/common/task-queues';
import type { ProcessPhotoInput } from '../../src/common/workflow-io';
import { jpeg } from './images';

/**
 * Real processes for crash tests: worker processes started the way `npm run worker` starts them, and a Temporal dev
 * server with its database on disk. Everything started through a `Processes` is tracked by process id, so a test
 * file's `after` can kill exactly what it started (never anything by name).
 *
 * Set CHAOS_VERBOSE=1 to see the workers' and the server's own output live.
 */

const VERBOSE = process.env.CHAOS_VERBOSE === '1';

export interface WorkerProcess extends Child {
  /** The identity the worker reports to Temporal (the SDK's default: `<pid>@<hostname>`). */
  identity: string;
}

export interface WorkerProcessOptions {
  services: readonly ServiceName[];
  /** The server's host:port. */
  address: string;
  /** NANO_PHOTOS_DATA_DIR: blob store and gallery. */
  dataDir: string;
  webhook?: { url: string; secret: string };
  /** NANO_PHOTOS_FILTER_DELAY_MS: every filter takes this much longer, heartbeating. */
  filterDelayMs?: number;
  /** NANO_PHOTOS_METRICS_ADDRESS: the worker's Prometheus endpoint. */
  metricsAddress?: string;
  concurrency?: number;
  /** More environment variables for the process (test hooks, allocator settings, the S3 settings `npm run s3` prints). */
  env?: Record<string, string>;
  /** For messages; defaults to the services. */
  name?: string;
  readyTimeoutMs?: number;
}

/** The parent's environment without anything that would point a worker somewhere else than the test says. */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^(TEMPORAL|NANO_PHOTOS|AWS)_/.test(key)));
}

/** Polls `check` until it returns something other than undefined/false, or fails after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  { timeoutMs = 60_000, everyMs = 100 }: { timeoutMs?: number; everyMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const why = lastError ? ` (last error: ${(lastError as Error).message})` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}`);
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Everything one test file starts: a temp folder, dev servers, worker processes. `cleanup()` kills them all by pid. */
export class Processes {
  readonly dir = mkdtempSync(path.join(os.tmpdir(), 'nano-photos-chaos-'));
  readonly dataDir = path.join(this.dir, 'data');
  readonly dbFile = path.join(this.dir, 'temporal', 'dev-server.db');
  readonly workers: WorkerProcess[] = [];
  private servers: DevServer[] = [];
  private port?: number;
  private closeClient?: () => Promise<void>;

  /** A test file's dev server and a client on it; `cleanup` stops both. */
  async start(): Promise<{ server: DevServer; address: string; client: Client }> {
    const server = await this.startServer();
    const { client, close } = await connectTestClient(server.address);
    this.closeClient = close;
    return { server, address: server.address, client };
  }

  /** What a worker process started with `dataDir: this.dataDir` uses (blob store, gallery folder). */
  config(): PhotoConfig {
    return loadConfig({ NANO_PHOTOS_DATA_DIR: this.dataDir, NANO_PHOTOS_UPLOAD_ROOTS: this.dir });
  }

  /**
   * Starts (or, after a crash, restarts) the dev server with its database in this folder, always on the same free
   * port, so workers and clients find it again at the same address.
   */
  async startServer(): Promise<DevServer> {
    this.port ??= await freePort();
    const log = openSync(path.join(this.dir, 'dev-server.log'), 'a');
    try {
      const server = await startDevServer({
        port: this.port,
        uiPort: false,
        dbFile: this.dbFile,
        ...(VERBOSE ? {} : { logFile: log }),
      });
      this.servers.push(server);
      return server;
    } finally {
      closeSync(log); // the server holds its own copy
    }
  }

  /** Spawns `node --import tsx src/worker.ts --services …` and waits for its `worker <pid>: serving` line. */
  async startWorker(o: WorkerProcessOptions): Promise<WorkerProcess> {
    const args = ['--import', 'tsx', 'src/bin/worker.ts', '--services', o.services.join(',')];
    if (o.concurrency !== undefined) args.push('--concurrency', String(o.concurrency));
    const env: NodeJS.ProcessEnv = {
      ...cleanEnv(),
      TEMPORAL_ADDRESS: o.address,
      TEMPORAL_NAMESPACE: 'default',
      NANO_PHOTOS_DATA_DIR: o.dataDir,
      // The tests write their photos into this file's folder: it is the upload root, as in tempWorld.
      NANO_PHOTOS_UPLOAD_ROOTS: this.dir,
      ...(o.webhook ? { NANO_PHOTOS_WEBHOOK_URL: o.webhook.url, NANO_PHOTOS_WEBHOOK_SECRET: o.webhook.secret } : {}),
      ...(o.filterDelayMs ? { NANO_PHOTOS_FILTER_DELAY_MS: String(o.filterDelayMs) } : {}),
      ...(o.metricsAddress ? { NANO_PHOTOS_METRICS_ADDRESS: o.metricsAddress } : {}),
      ...o.env,
    };
    const name = o.name ?? `worker[${o.services.join(',')}]`;
    const child = startChild({
      name,
      command: process.execPath,
      args,
      cwd: projectRoot,
      env,
      onOutput: VERBOSE ? (text) => process.stderr.write(`[${name}] ${text}`) : undefined,
    });
    const worker: WorkerProcess = { ...child, identity: `${child.pid}@${os.hostname()}` };
    this.workers.push(worker);
    await waitForOutput(worker, new RegExp(`^worker ${child.pid}: serving `, 'm'), {
      timeoutMs: o.readyTimeoutMs ?? 90_000,
    });
    return worker;
  }

  /** A 640 x 480 JPEG in the upload root, for runs to start from. */
  async writePhoto(name = 'photo.jpg'): Promise<string> {
    const photo = path.join(this.dir, name);
    writeFileSync(photo, await jpeg({ width: 640, height: 480 }));
    return photo;
  }

  /**
   * `input` run with nothing interrupted, by one worker for every service with a data folder of its own (the store
   * skips keys it already has, so in a shared store a crash run's output could be this one's): its result and output
   * bytes, the reference a crash run must equal.
   */
  async uninterruptedRun(address: string, client: Client, input: ProcessPhotoInput) {
    const dataDir = path.join(this.dir, 'reference-data');
    const calm = await this.startWorker({ services: SERVICE_NAMES, address, dataDir });
    const result = await (await startPhotoRun(client, input)).result();
    assert.deepEqual(await calm.kill('SIGTERM'), { code: 0, signal: null });
    const bytes = await new FileBlobStore(loadConfig({ NANO_PHOTOS_DATA_DIR: dataDir }).blobDir).get(result.output.key);
    return { result, bytes };
  }

  /** `count` workers of every service, named worker-0, worker-1, …, started at once. */
  startWorkers(count: number, o: Omit<WorkerProcessOptions, 'services' | 'name'>): Promise<WorkerProcess[]> {
    return Promise.all(
      Array.from({ length: count }, (_, i) => this.startWorker({ ...o, services: SERVICE_NAMES, name: `worker-${i}` })),
    );
  }

  /** Kills every process this object started that still runs, by process id, and removes the temp folder. */
  async cleanup(): Promise<void> {
    await this.closeClient?.();
    await Promise.all(this.workers.map((w) => w.kill('SIGKILL')));
    await Promise.all(this.servers.map((s) => s.child.kill('SIGKILL')));
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * A crash test's world for the tests of the calling describe(): its dev server, a client on it and a photo in the
 * upload root, made before the first test; every process it started is killed after the last.
 */
export function crashTestWorld(): { world: Processes; address: string; client: Client; photo: string } {
  const context = { world: new Processes() } as ReturnType<typeof crashTestWorld>;
  before(async () => {
    ({ address: context.address, client: context.client } = await context.world.start());
    context.photo = await context.world.writePhoto();
  });
  after(() => context.world.cleanup());
  return context;
}

/** A client on the dev server; the SDK's connection retries while the server restarts. */
export async function connectTestClient(address: string): Promise<{ client: Client; close(): Promise<void> }> {
  const connection = await Connection.connect({ address });
  return { client: new Client({ connection, namespace: 'default' }), close: () => connection.close() };
}

// ---- Reading what happened from the server ----

const { EventType, PendingActivityState } = temporal.api.enums.v1;
type Timestamp = temporal.api.history.v1.IHistoryEvent['eventTime'];

export function timestampMs(ts: Timestamp): number {
  if (!ts) return NaN;
  const seconds = ts.seconds ?? 0;
  const s = typeof seconds === 'number' ? seconds : Number(seconds.toString());
  return s * 1000 + Math.floor((ts.nanos ?? 0) / 1e6);
}

/** One activity as recorded in history: the attempt that ended it and how it ended. */
export interface ActivityRecord {
  type: string;
  activityId: string;
  scheduledAt: number;
  /** The last attempt's start: with retries, history records only the attempt that ended the activity. */
  startedAt?: number;
  attempt?: number;
  startedBy?: string;
  /** Why the attempt before this one failed (e.g. a heartbeat timeout), if there was one. */
  lastFailure?: temporal.api.failure.v1.IFailure | null;
  completedAt?: number;
  completedBy?: string;
  outcome?: 'completed' | 'failed' | 'timed-out' | 'canceled';
}

export async function activityRecords(handle: WorkflowHandle): Promise<ActivityRecord[]> {
  const history = await handle.fetchHistory();
  const byScheduled = new Map<string, ActivityRecord>();
  const key = (id: unknown) => String(id);
  for (const event of history.events ?? []) {
    const at = timestampMs(event.eventTime);
    switch (event.eventType) {
      case EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED: {
        const a = event.activityTaskScheduledEventAttributes!;
        byScheduled.set(key(event.eventId), {
          type: a.activityType!.name!,
          activityId: a.activityId!,
          scheduledAt: at,
        });
        break;
      }
      case EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED: {
        const a = event.activityTaskStartedEventAttributes!;
        Object.assign(byScheduled.get(key(a.scheduledEventId))!, {
          startedAt: at,
          attempt: a.attempt ?? undefined,
          startedBy: a.identity ?? undefined,
          lastFailure: a.lastFailure,
        });
        break;
      }
      case EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED: {
        const a = event.activityTaskCompletedEventAttributes!;
        Object.assign(byScheduled.get(key(a.scheduledEventId))!, {
          completedAt: at,
          completedBy: a.identity ?? undefined,
          outcome: 'completed',
        });
        break;
      }
      case EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED:
        byScheduled.get(key(event.activityTaskFailedEventAttributes!.scheduledEventId))!.outcome = 'failed';
        break;
      case EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
        byScheduled.get(key(event.activityTaskTimedOutEventAttributes!.scheduledEventId))!.outcome = 'timed-out';
        break;
      case EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED:
        byScheduled.get(key(event.activityTaskCanceledEventAttributes!.scheduledEventId))!.outcome = 'canceled';
        break;
    }
  }
  return [...byScheduled.values()];
}

/**
 * What a crash mid-activity leaves in history: the `type` activity completed on a later attempt, by `successor`, after
 * the killed attempt timed out (start-to-close). Returns its record.
 */
export async function assertCompletedAfterTimeout(
  handle: WorkflowHandle,
  type: string,
  successor: WorkerProcess,
): Promise<ActivityRecord> {
  const record = (await activityRecords(handle)).find((a) => a.type === type)!;
  assert.equal(record.outcome, 'completed');
  assert.ok(record.attempt! >= 2, `attempt ${record.attempt}`);
  assert.equal(record.completedBy, successor.identity);
  assert.equal(
    record.lastFailure?.timeoutFailureInfo?.timeoutType,
    temporal.api.enums.v1.TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE,
  );
  return record;
}

export type PendingActivity = temporal.api.workflow.v1.IPendingActivityInfo;

/** An activity of `type` that a worker is running right now (started, not yet finished), as the server sees it. */
export async function runningActivity(handle: WorkflowHandle, type: string): Promise<PendingActivity | undefined> {
  const { raw } = await handle.describe();
  return (raw.pendingActivities ?? []).find(
    (a) => a.activityType?.name === type && a.state === PendingActivityState.PENDING_ACTIVITY_STATE_STARTED,
  );
}

/** Waits until a worker runs an activity of `type` and has heartbeated at least once: under way, not just handed out. */
export function waitForRunning(handle: WorkflowHandle, type: string, timeoutMs = 60_000): Promise<PendingActivity> {
  return waitFor(
    `${type} to run`,
    async () => {
      const running = await runningActivity(handle, type);
      return running?.lastHeartbeatTime ? running : undefined;
    },
    { timeoutMs },
  );
}

/**
 * SIGTERM to `worker` while it runs the run's `type` activity: the worker must let that activity finish (on its first
 * attempt, after the signal), exit 0 within its grace time and say it stopped. Returns the activity and the times.
 */
export async function stopMidActivity(handle: WorkflowHandle, worker: WorkerProcess, type: string) {
  const running = await waitForRunning(handle, type);
  assert.equal(running.lastWorkerIdentity, worker.identity);
  const signalledAt = Date.now();
  const exit = await worker.kill('SIGTERM');
  const exitedAt = Date.now();
  assert.deepEqual(exit, { code: 0, signal: null }, `the worker's output:\n${worker.output()}`);
  assert.match(worker.output(), new RegExp(`worker ${worker.pid}: stopped`));
  const record = (await activityRecords(handle)).find((a) => a.type === type)!;
  assert.deepEqual(
    [record.outcome, record.attempt, record.startedBy, record.completedBy, record.lastFailure ?? null],
    ['completed', 1, worker.identity, worker.identity, null],
  );
  // It was still running when the signal came: the worker waited for it, within its grace time.
  assert.ok(
    record.completedAt! > signalledAt,
    `${type} completed ${record.completedAt! - signalledAt} ms after SIGTERM`,
  );
  const grace = msToNumber(SHUTDOWN_GRACE_TIME);
  assert.ok(
    exitedAt - signalledAt < grace,
    `exited ${exitedAt - signalledAt} ms after SIGTERM; the grace time is ${grace} ms`,
  );
  return { record, signalledAt, exitedAt };
}
