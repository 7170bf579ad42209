import path from 'node:path';
import { loadConnectionSettings, type ConnectionSettings } from './connection';
import { parseNetwork, type Network } from './ip-networks';
import { parseCodecKeys, type CodecKeys } from './payload-codec';
import { MAX_IMAGE_PIXELS } from '../common/filter-catalog';
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
  /** With payload encryption on, the Web UI decodes through `npm run codec-server` at this address. */
  uiCodecEndpoint?: string;
}

/**
 * The pixels (input plus output of every filter running) a filter worker holds at once, by default: eight
 * 12-megapixel photos resized at once fit, two 100-megapixel jobs do not. At 4 bytes a pixel (raw RGBA) plus
 * libvips' working copies, about 1 GB of image memory.
 */
export const DEFAULT_PIXEL_BUDGET = 200_000_000;

export interface PhotoConfig {
  connection: ConnectionSettings;
  localServer: LocalServerSettings;
  /** The Temporal Web UI, for the links clients print (TEMPORAL_UI_URL). */
  uiUrl: string;
  dataDir: string;
  /** The folder `{"path": ...}` uploads are read from unless NANO_PHOTOS_UPLOAD_ROOTS says otherwise. */
  inboxDir: string;
  blobDir: string;
  galleryDir: string;
  upload: UploadLimits;
  webhook?: WebhookSettings;
  /**
   * Keys of the opt-in payload encryption (NANO_PHOTOS_CODEC_KEYS): workers and clients encrypt what they send to
   * Temporal, so titles, paths and URLs are unreadable in its database. Unset: payloads are plain JSON.
   */
  codecKeys?: CodecKeys;
  /** Where `npm run codec-server` listens (NANO_PHOTOS_CODEC_PORT), for the Web UI to decode payloads. */
  codecPort: number;
  /** Pixels a filter worker holds at once across its activities (NANO_PHOTOS_FILTER_PIXEL_BUDGET). */
  filterPixelBudget: number;
  /** Extra time each filter takes, heartbeating: makes crash recovery visible in demos (NANO_PHOTOS_FILTER_DELAY_MS). */
  filterDelayMs?: number;
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min = 1, max = Infinity): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    const range = max === Infinity ? `of at least ${min}` : `between ${min} and ${max}`;
    throw new Error(`${name}: expected an integer ${range}, received ${JSON.stringify(raw)}`);
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

function uploadRoots(raw: string | undefined, inboxDir: string): string[] {
  if (raw === undefined || raw === '') return [inboxDir];
  const roots = raw.split(path.delimiter).filter(Boolean);
  const relative = roots.filter((root) => !path.isAbsolute(root));
  if (relative.length > 0 || roots.length === 0) {
    throw new Error(
      `NANO_PHOTOS_UPLOAD_ROOTS: expected absolute folders separated by '${path.delimiter}', received ${JSON.stringify(raw)}`,
    );
  }
  return roots.map((root) => path.resolve(root));
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
    blobDir: path.resolve(env.NANO_PHOTOS_BLOB_DIR ?? path.join(dataDir, 'blobs')),
    galleryDir: path.resolve(env.NANO_PHOTOS_GALLERY_DIR ?? path.join(dataDir, 'gallery')),
    upload: {
      maxBytes: integer(env, 'NANO_PHOTOS_MAX_UPLOAD_BYTES', 50 * 1024 * 1024),
      maxPixels: integer(env, 'NANO_PHOTOS_MAX_PIXELS', MAX_IMAGE_PIXELS, 1, MAX_IMAGE_PIXELS),
      fetchTimeoutMs: integer(env, 'NANO_PHOTOS_FETCH_TIMEOUT_MS', 30_000),
      maxRedirects: integer(env, 'NANO_PHOTOS_MAX_REDIRECTS', 5),
      allowedNetworks: networkList(env, 'NANO_PHOTOS_URL_ALLOW'),
      allowedRoots: uploadRoots(env.NANO_PHOTOS_UPLOAD_ROOTS, inboxDir),
    },
    webhook: url && secret ? { url, secret } : undefined,
    codecKeys,
    codecPort,
    filterPixelBudget: integer(env, 'NANO_PHOTOS_FILTER_PIXEL_BUDGET', DEFAULT_PIXEL_BUDGET),
    filterDelayMs: integer(env, 'NANO_PHOTOS_FILTER_DELAY_MS', 0, 0) || undefined,
  };
}
