import { fileURLToPath } from 'node:url';

/**
 * How a store reaches an S3-compatible service. Credentials and (without an endpoint) the region come from the AWS
 * SDK's own chain: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, an instance role...
 */
export interface S3Settings {
  /** NANO_PHOTOS_S3_ENDPOINT, for services other than AWS (e.g. `npm run s3`'s http://127.0.0.1:PORT). */
  endpoint?: string;
  /** NANO_PHOTOS_S3_FORCE_PATH_STYLE: the bucket in the path, not the host name; the default with an endpoint. */
  forcePathStyle: boolean;
  /** AWS_REGION; with an endpoint and no AWS_REGION, us-east-1 (most S3-compatible services ignore it). */
  region?: string;
  /** Keys given in code, for tests; workers leave this unset and the SDK's chain finds theirs. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

export interface S3Location {
  driver: 's3';
  bucket: string;
  /** Without a trailing slash; empty for the whole bucket. */
  prefix: string;
  s3: S3Settings;
  /** The setting that chose this store, for messages that say what to fix. */
  setting: string;
}

/** A store's driver and place: a folder (file://, the default) or a bucket and prefix (s3://). */
export type StoreSettings = { driver: 'file'; dir: string; setting: string } | S3Location;

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const PREFIX = /^[A-Za-z0-9._-]+(?:\/[A-Za-z0-9._-]+)*$/;

/** `file:///absolute/folder` or `s3://bucket/optional/prefix`. */
export function parseStoreUrl(setting: string, raw: string, s3: S3Settings): StoreSettings {
  const expected = `${setting}: expected file:///absolute/folder or s3://bucket/prefix, received ${JSON.stringify(raw)}`;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(expected);
  }
  if (url.search || url.hash || url.username || url.password) throw new Error(`${expected} (no query or user part)`);
  if (url.protocol === 'file:' && !url.host) return { driver: 'file', dir: fileURLToPath(url), setting };
  if (url.protocol !== 's3:') throw new Error(expected);
  const bucket = url.hostname;
  const prefix = decodeURIComponent(url.pathname).replace(/^\/+|\/+$/g, '');
  if (!BUCKET.test(bucket)) throw new Error(`${expected}: "${bucket}" is not a valid bucket name`);
  if (prefix && (!PREFIX.test(prefix) || prefix.includes('..')))
    throw new Error(`${expected}: the prefix may hold letters, digits, ".", "_", "-" and "/" only`);
  return { driver: 's3', bucket, prefix, s3, setting };
}
