import path from 'node:path';
import { loadConnectionSettings, type ConnectionSettings } from './connection';
import { projectRoot } from './project-root';

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
  /** Local files may only be read below these folders (the worker's file system, not the caller's). */
  allowedRoots: string[];
}

export interface WebhookSettings {
  url: string;
  /** HMAC-SHA256 key for the signature header. Only ever read from the worker's environment. */
  secret: string;
}

/** The local dev server that `npm run server` and `npm run demo` start; their flags override these. */
export interface LocalServerSettings {
  ip: string;
  port: number;
  uiPort: number;
  dbFile: string;
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
  blobDir: string;
  galleryDir: string;
  upload: UploadLimits;
  web: WebSettings;
  webhook?: WebhookSettings;
  /** Extra time each filter takes, heartbeating: makes crash recovery visible in demos (NANO_PHOTOS_FILTER_DELAY_MS). */
  filterDelayMs?: number;
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min = 1): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) {
    throw new Error(`${name}: expected an integer of at least ${min}, received ${JSON.stringify(raw)}`);
  }
  return value;
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

/**
 * Worker-side settings, all from the environment. Secrets (the webhook URL and key) are read here, in the worker,
 * so they never appear in workflow input or history.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): PhotoConfig {
  const dataDir = path.resolve(env.NANO_PHOTOS_DATA_DIR ?? path.join(projectRoot, '.data'));
  const url = env.NANO_PHOTOS_WEBHOOK_URL;
  const secret = env.NANO_PHOTOS_WEBHOOK_SECRET;
  if (url && !secret)
    throw new Error('NANO_PHOTOS_WEBHOOK_URL is set but NANO_PHOTOS_WEBHOOK_SECRET is not: webhooks are always signed');
  return {
    connection: loadConnectionSettings(env),
    localServer: {
      ip: env.NANO_PHOTOS_SERVER_IP ?? '127.0.0.1',
      port: parsePort('NANO_PHOTOS_SERVER_PORT', env.NANO_PHOTOS_SERVER_PORT ?? '7233'),
      uiPort: parsePort('NANO_PHOTOS_UI_PORT', env.NANO_PHOTOS_UI_PORT ?? '8233'),
      dbFile: path.resolve(env.NANO_PHOTOS_SERVER_DB ?? path.join(stateDirOf(env), 'dev-server.db')),
    },
    uiUrl: env.TEMPORAL_UI_URL ?? DEFAULT_UI_URL,
    dataDir,
    blobDir: path.resolve(env.NANO_PHOTOS_BLOB_DIR ?? path.join(dataDir, 'blobs')),
    galleryDir: path.resolve(env.NANO_PHOTOS_GALLERY_DIR ?? path.join(dataDir, 'gallery')),
    upload: {
      maxBytes: integer(env, 'NANO_PHOTOS_MAX_UPLOAD_BYTES', 50 * 1024 * 1024),
      maxPixels: integer(env, 'NANO_PHOTOS_MAX_PIXELS', 100_000_000),
      fetchTimeoutMs: integer(env, 'NANO_PHOTOS_FETCH_TIMEOUT_MS', 30_000),
      maxRedirects: integer(env, 'NANO_PHOTOS_MAX_REDIRECTS', 5),
      allowedRoots: (env.NANO_PHOTOS_UPLOAD_ROOTS ?? '/')
        .split(path.delimiter)
        .filter(Boolean)
        .map((root) => path.resolve(root)),
    },
    web: {
      host: env.NANO_PHOTOS_WEB_HOST ?? '127.0.0.1',
      port: parsePort('NANO_PHOTOS_WEB_PORT', env.NANO_PHOTOS_WEB_PORT ?? '8080'),
      maxFiles: integer(env, 'NANO_PHOTOS_WEB_MAX_FILES', 20),
    },
    webhook: url && secret ? { url, secret } : undefined,
    filterDelayMs: integer(env, 'NANO_PHOTOS_FILTER_DELAY_MS', 0, 0) || undefined,
  };
}
