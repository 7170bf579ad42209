import path from 'node:path';
import { projectRoot } from './paths';

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

export interface PhotoConfig {
  dataDir: string;
  blobDir: string;
  galleryDir: string;
  upload: UploadLimits;
  webhook?: WebhookSettings;
  /** host:port for the worker's Prometheus endpoint (SDK and project metrics); off when absent. */
  metricsAddress?: string;
}

function positiveInt(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) {
    throw new Error(`${name} must be a positive integer, received ${JSON.stringify(raw)}`);
  }
  return value;
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
    dataDir,
    blobDir: path.resolve(env.NANO_PHOTOS_BLOB_DIR ?? path.join(dataDir, 'blobs')),
    galleryDir: path.resolve(env.NANO_PHOTOS_GALLERY_DIR ?? path.join(dataDir, 'gallery')),
    upload: {
      maxBytes: positiveInt(env, 'NANO_PHOTOS_MAX_UPLOAD_BYTES', 50 * 1024 * 1024),
      maxPixels: positiveInt(env, 'NANO_PHOTOS_MAX_PIXELS', 100_000_000),
      fetchTimeoutMs: positiveInt(env, 'NANO_PHOTOS_FETCH_TIMEOUT_MS', 30_000),
      maxRedirects: positiveInt(env, 'NANO_PHOTOS_MAX_REDIRECTS', 5),
      allowedRoots: (env.NANO_PHOTOS_UPLOAD_ROOTS ?? '/')
        .split(path.delimiter)
        .filter(Boolean)
        .map((root) => path.resolve(root)),
    },
    webhook: url && secret ? { url, secret } : undefined,
    metricsAddress: env.NANO_PHOTOS_METRICS_ADDRESS || undefined,
  };
}
