import path from 'node:path';
import { parseStoreUrl, type S3Settings, type StoreSettings } from './blob-store/settings';
import { loadConnectionSettings, type ConnectionSettings } from './connection';
import { parseNetwork, type Network } from './ip-networks';
import { parseCodecKeys, type CodecKeys } from './payload-codec';
import { MAX_IMAGE_PIXELS } from '../common/filter-catalog';
import { DEFAULT_RETENTION, MIN_RETENTION_MS } from '../common/retention';
import { durationMs } from '../common/review';
import { envInteger } from './env-integer';
import { projectRoot } from './project-root';
import { MARKER_POINTS, type MarkerPoint, type TestMarkerSettings } from './test-markers';
import { parseImagePriority, type ImagePriority } from './process-tuning';
import { DEFAULT_PIXEL_BUDGET } from '../../activities/shared/pixel-budget';

/**
 * The one place the environment is read: every process (worker, client, demo, benchmark) loads its settings here
 * once, validated, and passes them down. Connection settings come through Temporal's envconfig, like every
 * Temporal tool's.
 */

/** The local dev server's Web UI. */
export const DEFAULT_UI_URL = 'http://127.0.0.1:8233';

/** Limits the upload service enforces before any decoding work. */
export interface UploadLimits {
  maxBytes: number;
  /** sharp's limitInputPixels: checked from the header, before decoding. */
  maxPixels: number;
  fetchTimeoutMs: number;
  maxRedirects: number;
  /**
   * Networks URL uploads may reach besides the public internet (NANO_PHOTOS_URL_ALLOW): loopback, private, link-local
   * and the like are refused unless listed, for deliberate internal image sources.
   */
  allowedNetworks: Network[];
  /**
   * Local files may only be read below these folders (the worker's file system, not the caller's): by default only
   * the inbox, so a caller cannot publish any image the worker happens to be able to read.
   */
  allowedRoots: string[];
  /** Pixels the upload worker decodes at once across its uploads (NANO_PHOTOS_UPLOAD_PIXEL_BUDGET). */
  pixelBudget: number;
}

export interface WebhookSettings {
  url: string;
  /** HMAC-SHA256 key for the signature header. Only ever read from the worker's environment. */
  secret: string;
}

/**
 * The Bluesky share target's account. `appPassword` is an app password (Settings → Privacy and security → App
 * passwords), never the account's own; only ever read from the share worker's environment.
 */
export interface BlueskySettings {
  /** The account's PDS, e.g. https://bsky.social. */
  service: string;
  /** A handle (alice.bsky.social), a DID or the account's email. */
  handle: string;
  appPassword: string;
}

/** Bluesky's own PDS host: where accounts made on bsky.app live. */
export const DEFAULT_BLUESKY_SERVICE = 'https://bsky.social';

/** The local dev server that `npm run server` and `npm run demo` start; their flags override these. */
export interface LocalServerSettings {
  ip: string;
  port: number;
  uiPort: number;
  dbFile: string;
  /** With payload encryption on, the Web UI decodes through `npm run codec-server` at this address. */
  uiCodecEndpoint?: string;
}

/** `npm run web`: where the photo site listens and how much one request may carry. */
export interface WebSettings {
  host: string;
  port: number;
  /** Photos per upload request; each may be as large as the upload service accepts (upload.maxBytes). */
  maxFiles: number;
}

export interface PhotoConfig {
  connection: ConnectionSettings;
  localServer: LocalServerSettings;
  /** The Temporal Web UI, for the links clients print (TEMPORAL_UI_URL). */
  uiUrl: string;
  dataDir: string;
  /** The folder `{"path": ...}` uploads are read from unless NANO_PHOTOS_UPLOAD_ROOTS says otherwise. */
  inboxDir: string;
  /** NANO_PHOTOS_BLOB_URL: where blobs live; by default the file driver in blobDir. */
  blobStore: StoreSettings;
  /** NANO_PHOTOS_GALLERY_URL: where the gallery lives; galleryDir, or with an s3 blob store its bucket's gallery/. */
  galleryStore: StoreSettings;
  /** The file driver's folders (NANO_PHOTOS_BLOB_DIR, NANO_PHOTOS_GALLERY_DIR, or a file:// URL's folder). */
  blobDir: string;
  galleryDir: string;
  upload: UploadLimits;
  web: WebSettings;
  webhook?: WebhookSettings;
  /**
   * Keys of the opt-in payload encryption (NANO_PHOTOS_CODEC_KEYS): workers and clients encrypt what they send to
   * Temporal, so titles, paths and URLs are unreadable in its database. Unset: payloads are plain JSON.
   */
  codecKeys?: CodecKeys;
  /** Where `npm run codec-server` listens (NANO_PHOTOS_CODEC_PORT), for the Web UI to decode payloads. */
  codecPort: number;
  /**
   * How long originals and outputs are kept after their last use (NANO_PHOTOS_RETENTION); a run's intermediates go
   * when the run ends.
   */
  retentionMs: number;
  /** Pixels a filter worker holds at once across its activities (NANO_PHOTOS_FILTER_PIXEL_BUDGET). */
  filterPixelBudget: number;
  /** How image work yields the cores to orchestration (NANO_PHOTOS_IMAGE_PRIORITY; src/lib/process-tuning.ts). */
  imagePriority: ImagePriority;
  bluesky?: BlueskySettings;
  /**
   * Test hook for crash tests (NANO_PHOTOS_TEST_KILL_AFTER_BLUESKY_POST=1): the share worker kills itself right after
   * the PDS has stored a post, before the activity can complete, as a crash at the worst moment would.
   */
  killAfterBlueskyPost?: boolean;
  /** Extra time each filter takes, heartbeating: makes crash recovery visible in demos (NANO_PHOTOS_FILTER_DELAY_MS). */
  filterDelayMs?: number;
  /**
   * Crash tests only: where the worker leaves markers of its progress through image work, and where it stops
   * (NANO_PHOTOS_TEST_MARKER_DIR, NANO_PHOTOS_TEST_HOLD_AT; see test-markers.ts). Unset in any real deployment.
   */
  testMarkers?: TestMarkerSettings;
  /** host:port for the worker's Prometheus endpoint (SDK and project metrics); off when absent. */
  metricsAddress?: string;
  /**
   * Whether a worker that runs workflows and image services runs the image services in a thread of their own
   * (NANO_PHOTOS_IMAGE_THREAD; src/lib/image-thread.ts): a shorter hop at load for about 40 MB more.
   */
  imageThread: boolean;
}

/** A `true` or `false` setting; undefined when unset or empty. */
function trueOrFalse(env: NodeJS.ProcessEnv, name: string): boolean | undefined {
  const value = env[name];
  if (value === undefined || value === '') return undefined;
  if (value !== 'true' && value !== 'false')
    throw new Error(`${name}: expected true or false, received ${JSON.stringify(value)}`);
  return value === 'true';
}

/** A duration of at least the longest review plus a day: a run waiting for review must not lose its output. */
function retention(raw: string | undefined): number {
  const ms = durationMs(raw || DEFAULT_RETENTION);
  const days = (n: number) => `${n / 86_400_000} days`;
  if (!(ms >= MIN_RETENTION_MS)) {
    throw new Error(
      `NANO_PHOTOS_RETENTION: expected a duration of at least ${days(MIN_RETENTION_MS)} like "35 days" or "1000h" ` +
        `(a run may wait 30 days for review and must still find its output), received ${JSON.stringify(raw)}`,
    );
  }
  return ms;
}

function testMarkers(env: NodeJS.ProcessEnv): TestMarkerSettings | undefined {
  const dir = env.NANO_PHOTOS_TEST_MARKER_DIR;
  const holdAt = env.NANO_PHOTOS_TEST_HOLD_AT || undefined;
  if (holdAt !== undefined && !MARKER_POINTS.includes(holdAt as MarkerPoint)) {
    throw new Error(
      `NANO_PHOTOS_TEST_HOLD_AT: expected one of ${MARKER_POINTS.join(', ')}, received ${JSON.stringify(holdAt)}`,
    );
  }
  if (holdAt && !dir) throw new Error('NANO_PHOTOS_TEST_HOLD_AT is set but NANO_PHOTOS_TEST_MARKER_DIR is not');
  return dir ? { dir: path.resolve(dir), holdAt: holdAt as MarkerPoint | undefined } : undefined;
}

export function parsePort(name: string, raw: string): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > 65535) {
    throw new Error(`${name}: expected a port between 1 and 65535, received ${JSON.stringify(raw)}`);
  }
  return value;
}

/** Git-ignored folder for everything the project provisions or persists locally (NANO_PHOTOS_STATE_DIR). */
export function stateDirOf(env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(env.NANO_PHOTOS_STATE_DIR ?? path.join(projectRoot, '.temporal'));
}

function networkList(env: NodeJS.ProcessEnv, name: string): Network[] {
  const items = (env[name] ?? '').split(',').filter((item) => item.trim() !== '');
  return items.map((item) => {
    const network = parseNetwork(item);
    if (!network) {
      throw new Error(
        `${name}: expected comma-separated networks like 10.0.0.0/8, 192.168.1.20 or fd00::/8, received ${JSON.stringify(item)}`,
      );
    }
    return network;
  });
}

/** Unset: the inbox; empty: no folder at all (the worker reads no local file); else absolute folders. */
function uploadRoots(raw: string | undefined, inboxDir: string): string[] {
  if (raw === undefined) return [inboxDir];
  const roots = raw.split(path.delimiter).filter(Boolean);
  const relative = roots.filter((root) => !path.isAbsolute(root));
  if (relative.length > 0) {
    throw new Error(
      `NANO_PHOTOS_UPLOAD_ROOTS: expected absolute folders separated by '${path.delimiter}', received ${JSON.stringify(raw)}`,
    );
  }
  return roots.map((root) => path.resolve(root));
}

function s3Settings(env: NodeJS.ProcessEnv): S3Settings {
  const endpoint = env.NANO_PHOTOS_S3_ENDPOINT || undefined;
  if (endpoint && !/^https?:\/\/[^/]+\/?$/.test(endpoint))
    throw new Error(`NANO_PHOTOS_S3_ENDPOINT: expected http(s)://host:port, received ${JSON.stringify(endpoint)}`);
  return {
    endpoint,
    forcePathStyle: trueOrFalse(env, 'NANO_PHOTOS_S3_FORCE_PATH_STYLE') ?? endpoint !== undefined,
    region: env.AWS_REGION || (endpoint ? 'us-east-1' : undefined),
  };
}

/** A store chosen by a URL setting or by a folder setting (not both), else the file driver in `folder`. */
function storeOf(env: NodeJS.ProcessEnv, urlSetting: string, dirSetting: string, folder: string, s3: S3Settings) {
  const url = env[urlSetting];
  if (!url) return { store: { driver: 'file', dir: folder, setting: dirSetting } as const, dir: folder };
  if (env[dirSetting]) throw new Error(`set ${urlSetting} or ${dirSetting}, not both`);
  const store = parseStoreUrl(urlSetting, url, s3);
  return { store, dir: store.driver === 'file' ? store.dir : folder };
}

function blueskySettings(env: NodeJS.ProcessEnv): BlueskySettings | undefined {
  const { NANO_PHOTOS_BLUESKY_SERVICE: service, NANO_PHOTOS_BLUESKY_HANDLE: handle } = env;
  const appPassword = env.NANO_PHOTOS_BLUESKY_APP_PASSWORD;
  if (!service && !handle && !appPassword) return undefined;
  if (!handle || !appPassword) {
    throw new Error(
      'Bluesky: set both NANO_PHOTOS_BLUESKY_HANDLE and NANO_PHOTOS_BLUESKY_APP_PASSWORD (and NANO_PHOTOS_BLUESKY_SERVICE ' +
        `for a PDS other than ${DEFAULT_BLUESKY_SERVICE}); missing: ` +
        [!handle && 'NANO_PHOTOS_BLUESKY_HANDLE', !appPassword && 'NANO_PHOTOS_BLUESKY_APP_PASSWORD']
          .filter(Boolean)
          .join(', '),
    );
  }
  const url = URL.canParse(service || DEFAULT_BLUESKY_SERVICE)
    ? new URL(service || DEFAULT_BLUESKY_SERVICE)
    : undefined;
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:') || url.username || url.password) {
    throw new Error(
      `NANO_PHOTOS_BLUESKY_SERVICE: expected the PDS's http(s) URL without credentials, e.g. ${DEFAULT_BLUESKY_SERVICE}, ` +
        `received ${JSON.stringify(service)}`,
    );
  }
  return { service: url.origin, handle: handle.replace(/^@/, ''), appPassword };
}

/**
 * Worker-side settings, all from the environment. Secrets (the webhook URL and key, the Bluesky app password) are
 * read here, in the worker, so they never appear in workflow input or history.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): PhotoConfig {
  const dataDir = path.resolve(env.NANO_PHOTOS_DATA_DIR ?? path.join(projectRoot, '.data'));
  const s3 = s3Settings(env);
  const blob = storeOf(
    env,
    'NANO_PHOTOS_BLOB_URL',
    'NANO_PHOTOS_BLOB_DIR',
    path.resolve(env.NANO_PHOTOS_BLOB_DIR ?? path.join(dataDir, 'blobs')),
    s3,
  );
  const gallery = storeOf(
    env,
    'NANO_PHOTOS_GALLERY_URL',
    'NANO_PHOTOS_GALLERY_DIR',
    path.resolve(env.NANO_PHOTOS_GALLERY_DIR ?? path.join(dataDir, 'gallery')),
    s3,
  );
  // One bucket for everything by default: an s3 blob store puts the gallery under gallery/ in its bucket.
  const galleryStore: StoreSettings =
    blob.store.driver === 's3' && !env.NANO_PHOTOS_GALLERY_URL && !env.NANO_PHOTOS_GALLERY_DIR
      ? {
          ...blob.store,
          prefix: 'gallery',
          setting: 'NANO_PHOTOS_GALLERY_URL (default: the bucket of NANO_PHOTOS_BLOB_URL)',
        }
      : gallery.store;
  const url = env.NANO_PHOTOS_WEBHOOK_URL;
  const secret = env.NANO_PHOTOS_WEBHOOK_SECRET;
  if (url && !secret)
    throw new Error('NANO_PHOTOS_WEBHOOK_URL is set but NANO_PHOTOS_WEBHOOK_SECRET is not: webhooks are always signed');
  const inboxDir = path.join(dataDir, 'inbox');
  const codecKeys = env.NANO_PHOTOS_CODEC_KEYS
    ? parseCodecKeys('NANO_PHOTOS_CODEC_KEYS', env.NANO_PHOTOS_CODEC_KEYS)
    : undefined;
  const codecPort = parsePort('NANO_PHOTOS_CODEC_PORT', env.NANO_PHOTOS_CODEC_PORT ?? '8888');
  return {
    connection: loadConnectionSettings(env),
    localServer: {
      ip: env.NANO_PHOTOS_SERVER_IP ?? '127.0.0.1',
      port: parsePort('NANO_PHOTOS_SERVER_PORT', env.NANO_PHOTOS_SERVER_PORT ?? '7233'),
      uiPort: parsePort('NANO_PHOTOS_UI_PORT', env.NANO_PHOTOS_UI_PORT ?? '8233'),
      dbFile: path.resolve(env.NANO_PHOTOS_SERVER_DB ?? path.join(stateDirOf(env), 'dev-server.db')),
      uiCodecEndpoint: codecKeys ? `http://127.0.0.1:${codecPort}` : undefined,
    },
    uiUrl: env.TEMPORAL_UI_URL ?? DEFAULT_UI_URL,
    dataDir,
    inboxDir,
    blobStore: blob.store,
    galleryStore,
    blobDir: blob.dir,
    galleryDir: gallery.dir,
    upload: {
      maxBytes: envInteger(env, 'NANO_PHOTOS_MAX_UPLOAD_BYTES', 50 * 1024 * 1024),
      maxPixels: envInteger(env, 'NANO_PHOTOS_MAX_PIXELS', MAX_IMAGE_PIXELS, 1, MAX_IMAGE_PIXELS),
      fetchTimeoutMs: envInteger(env, 'NANO_PHOTOS_FETCH_TIMEOUT_MS', 30_000),
      maxRedirects: envInteger(env, 'NANO_PHOTOS_MAX_REDIRECTS', 5),
      allowedNetworks: networkList(env, 'NANO_PHOTOS_URL_ALLOW'),
      allowedRoots: uploadRoots(env.NANO_PHOTOS_UPLOAD_ROOTS, inboxDir),
      pixelBudget: envInteger(env, 'NANO_PHOTOS_UPLOAD_PIXEL_BUDGET', DEFAULT_PIXEL_BUDGET),
    },
    web: {
      host: env.NANO_PHOTOS_WEB_HOST ?? '127.0.0.1',
      port: parsePort('NANO_PHOTOS_WEB_PORT', env.NANO_PHOTOS_WEB_PORT ?? '8080'),
      maxFiles: envInteger(env, 'NANO_PHOTOS_WEB_MAX_FILES', 20),
    },
    webhook: url && secret ? { url, secret } : undefined,
    bluesky: blueskySettings(env),
    killAfterBlueskyPost: env.NANO_PHOTOS_TEST_KILL_AFTER_BLUESKY_POST === '1' || undefined,
    codecKeys,
    codecPort,
    retentionMs: retention(env.NANO_PHOTOS_RETENTION),
    filterPixelBudget: envInteger(env, 'NANO_PHOTOS_FILTER_PIXEL_BUDGET', DEFAULT_PIXEL_BUDGET),
    imagePriority: parseImagePriority(env.NANO_PHOTOS_IMAGE_PRIORITY),
    filterDelayMs: envInteger(env, 'NANO_PHOTOS_FILTER_DELAY_MS', 0, 0) || undefined,
    testMarkers: testMarkers(env),
    metricsAddress: env.NANO_PHOTOS_METRICS_ADDRESS || undefined,
    imageThread: trueOrFalse(env, 'NANO_PHOTOS_IMAGE_THREAD') ?? true,
  };
}
