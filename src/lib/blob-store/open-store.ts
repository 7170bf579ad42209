import { randomBytes } from 'node:crypto';
import os from 'node:os';
import type { StoreSettings } from './settings';
import { ContentAddressedStore } from './content-addressed';
import { FileObjectStore } from './file-store';
import { S3ObjectStore } from './s3-store';
import type { ObjectStore } from './types';

/** The driver a setting names: a folder, or a bucket and prefix. */
export function openObjectStore(settings: StoreSettings): ObjectStore {
  return settings.driver === 'file' ? new FileObjectStore(settings.dir) : new S3ObjectStore(settings);
}

export function openBlobStore(settings: StoreSettings): ContentAddressedStore {
  return new ContentAddressedStore(openObjectStore(settings));
}

/**
 * Proves a store works for everything a worker does with it (write, read, list, delete), with a small object of
 * its own that it removes again. Run at worker start: a wrong bucket, key or folder shows up there, with the
 * setting to fix, instead of in the first photo's activity.
 */
export async function probeStore(store: ObjectStore, what: string): Promise<void> {
  const name = `.probe-${os.hostname().replace(/[^A-Za-z0-9_-]/g, '_')}-${process.pid}-${randomBytes(4).toString('hex')}`;
  const data = Buffer.from(`nano-photos ${what} probe\n`);
  try {
    await store.put(name, data, { contentType: 'text/plain' });
    const back = await store.get(name);
    if (!back?.equals(data)) throw new Error(`what was written to ${store.locationOf(name)} did not read back`);
    if (!(await store.list(name)).some((o) => o.name === name))
      throw new Error(`${store.locationOf(name)} was written but a listing does not show it`);
    await store.delete(name);
  } catch (err) {
    throw new Error(`the ${what} at ${store.location} is not usable: ${(err as Error).message}`, { cause: err });
  }
}
