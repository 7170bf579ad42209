import { createHash } from 'node:crypto';

export interface StoredBlob {
  key: string;
  sha256: string;
  bytes: number;
}

/**
 * Where image bytes live (the claim check): Temporal only ever sees keys. Content-addressed, so storing the same
 * bytes twice, as a retried activity does, yields the same key and no duplicate. Small on purpose: every driver
 * (a folder, an S3 bucket) needs only these three calls.
 */
export interface BlobStore {
  /**
   * Stores the bytes under their hash: in the shared area, or with `scope` in that run's scratch folder (its
   * intermediates, deleted when the run ends). Storing shared bytes already there refreshes their modified time,
   * which is what retention counts from.
   */
  put(data: Buffer, extension: string, scope?: string): Promise<StoredBlob>;
  /** The blob's bytes, checked against its key: a blob that does not match is never returned. */
  get(key: string): Promise<Buffer>;
  has(key: string): Promise<boolean>;
}

/** One object as a listing or a HEAD sees it. */
export interface ObjectInfo {
  name: string;
  bytes: number;
  /** Changes whenever the object is written again (an ETag, or a file's inode and mtime). */
  version: string;
  /** When it was last written or touched: what retention counts from. */
  modified: Date;
}

export interface PutOptions {
  contentType?: string;
  /** The bytes' sha256 (hex) when the caller knows it: a driver that can verifies the upload against it. */
  sha256?: string;
}

/**
 * Named objects in shared storage (a folder, or a bucket under a prefix): what the blob store and the gallery are
 * built on. Names are relative and `/`-separated, made by this project's code (never taken from users unchecked).
 */
export interface ObjectStore {
  /** Where the store is, for people: a folder, or `s3://bucket/prefix/`. */
  readonly location: string;
  /** Where one object is, for people (receipts, messages). */
  locationOf(name: string): string;
  /** The object's bytes, or undefined if there is none. */
  get(name: string): Promise<Buffer | undefined>;
  head(name: string): Promise<ObjectInfo | undefined>;
  /** Readers see the old object or the new one complete, never part of one. */
  put(name: string, data: Buffer, options?: PutOptions): Promise<void>;
  /** Removes the object if it is there. */
  delete(name: string): Promise<void>;
  /**
   * The objects in `prefix`'s folder whose names start with it (not those in deeper folders), and end with `suffix`:
   * a driver that pays per object listed (a folder's stat) skips the others before paying.
   */
  list(prefix?: string, suffix?: string): Promise<ObjectInfo[]>;
  /** Every object whose name starts with `prefix`, in deeper folders too, sorted by name. */
  listAll(prefix?: string): Promise<ObjectInfo[]>;
  /**
   * Sets the object's modified time to now (retention counts from the latest use). `data` and `options` are what it
   * holds: a driver that cannot set the time writes them again.
   */
  touch(name: string, data: Buffer, options?: PutOptions): Promise<void>;
  /** Removes every object in `folder` (a name without trailing slash) and below, and the folder; returns what was removed. */
  deleteFolder(folder: string): Promise<ObjectInfo[]>;
  /** Removes what interrupted writes to these names left behind (a folder's partial files; nothing on S3). */
  sweep(names: readonly string[]): Promise<void>;
}

/** Names this project makes: `a`, `a/b`, of letters, digits, `.`, `_` and `-`, no `..` anywhere. */
const NAME = /^[A-Za-z0-9._-]+(?:\/[A-Za-z0-9._-]+)*$/;

/** Drivers check every name: a bug elsewhere must not turn into a write outside the store. */
export const isName = (name: string): boolean => NAME.test(name) && !name.includes('..');

export function checkName(name: string): string {
  if (!isName(name)) throw new Error(`object name ${JSON.stringify(name)} is not allowed`);
  return name;
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
