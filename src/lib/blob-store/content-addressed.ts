import { ApplicationFailure } from '@temporalio/common';
import { checkKey } from '../../common/image-ref';
import { FileObjectStore } from './file-store';
import { sha256, type BlobStore, type ObjectStore, type StoredBlob } from './types';

/** The failure type of a blob whose bytes do not match its key. */
export const BLOB_CORRUPT = 'BlobCorrupt';

/**
 * The blob store on any object store: `<2-char prefix>/<sha256>.<ext>` objects (the prefix keeps folders small).
 *
 * Every driver writes an object whole or not at all, so a blob under its key is complete unless something damaged
 * it afterwards. Reads check every blob's sha256 against its key (the reader has the bytes anyway; see
 * BENCHMARKS.md for the cost), so a damaged blob is never used. A write that finds its key present compares only
 * the size: hashing the present blob would mean reading it back, as dear as writing it again.
 */
export class ContentAddressedStore implements BlobStore {
  constructor(readonly objects: ObjectStore) {}

  nameOf(key: string): string {
    checkKey(key);
    return `${key.slice(0, 2)}/${key}`;
  }

  async put(data: Buffer, extension: string): Promise<StoredBlob> {
    const hash = sha256(data);
    const key = checkKey(`${hash}.${extension}`);
    const name = this.nameOf(key);
    // Retries and repeated photos store the same bytes: one HEAD, no upload. A blob of another size was damaged.
    if ((await this.objects.head(name))?.bytes !== data.length) {
      await this.objects.put(name, data, { sha256: hash, contentType: 'application/octet-stream' });
    }
    return { key, sha256: hash, bytes: data.length };
  }

  async get(key: string): Promise<Buffer> {
    const name = this.nameOf(key);
    const expected = key.slice(0, 64);
    for (let read = 1; ; read++) {
      const data = await this.objects.get(name);
      if (!data) throw new Error(`blob ${key} is not in the store at ${this.objects.location}`);
      const actual = sha256(data);
      if (actual === expected) return data;
      // Read twice before condemning a blob: a single read may have been garbled on its way.
      if (read === 1) continue;
      const removed = await this.objects.delete(name).then(
        () => 'removed it, so the step that stores these bytes (for instance the upload of a new run) writes it again',
        (err: Error) => `could not remove it (${err.message})`,
      );
      throw ApplicationFailure.nonRetryable(
        `blob ${key} at ${this.objects.locationOf(name)} is corrupt: its ${data.length} bytes hash to ` +
          `${actual.slice(0, 16)}…, not to its key; ${removed}`,
        BLOB_CORRUPT,
      );
    }
  }

  async has(key: string): Promise<boolean> {
    return (await this.objects.head(this.nameOf(key))) !== undefined;
  }
}

/** The default, embedded blob store: a folder of `<2-char prefix>/<sha256>.<ext>` files. */
export class FileBlobStore extends ContentAddressedStore {
  constructor(root: string) {
    super(new FileObjectStore(root));
  }
}
