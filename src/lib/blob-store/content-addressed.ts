import { ApplicationFailure } from '@temporalio/common';
import { checkKey, checkStoredKey, hashOfKey, SCRATCH_SCOPE } from '../../common/image-ref';
import { FileObjectStore } from './file-store';
import { sha256, type BlobStore, type ObjectInfo, type ObjectStore, type StoredBlob } from './types';

/** The failure type of a blob whose bytes do not match its key. */
export const BLOB_CORRUPT = 'BlobCorrupt';

/** The folder of every run's intermediates. */
export const SCRATCH_FOLDER = 'scratch';

/** A run's scratch folder: checked, so a bad scope can never name another folder. */
export function scratchFolder(scope: string): string {
  if (!SCRATCH_SCOPE.test(scope)) throw new Error(`scratch scope ${JSON.stringify(scope)} is not allowed`);
  return `${SCRATCH_FOLDER}/${scope}`;
}

/**
 * The blob store on any object store: `<2-char prefix>/<sha256>.<ext>` objects (the prefix keeps folders small) for
 * originals and outputs, shared by every run; `scratch/<scope>/<sha256>.<ext>` for a run's intermediates, its own,
 * so that deleting them when the run ends cannot take a blob from an identical run still going.
 *
 * Every driver writes an object whole or not at all, so a blob under its key is complete unless something damaged
 * it afterwards. Reads check every blob's sha256 against its key (the reader has the bytes anyway; see
 * BENCHMARKS.md for the cost), so a damaged blob is never used. A write that finds its key present compares only
 * the size: hashing the present blob would mean reading it back, as dear as writing it again.
 */
export class ContentAddressedStore implements BlobStore {
  constructor(readonly objects: ObjectStore) {}

  nameOf(key: string): string {
    checkStoredKey(key);
    return key.startsWith(`${SCRATCH_FOLDER}/`) ? key : `${key.slice(0, 2)}/${key}`;
  }

  async put(data: Buffer, extension: string, scope?: string): Promise<StoredBlob> {
    const hash = sha256(data);
    const file = `${hash}.${extension}`;
    const key = scope === undefined ? checkKey(file) : checkStoredKey(`${scratchFolder(scope)}/${file}`);
    const name = this.nameOf(key);
    // Retries and repeated photos store the same bytes: one HEAD, no upload. A blob of another size was damaged.
    // A shared blob used again is touched: retention keeps it for as long from this use as from its first.
    const options = { sha256: hash, contentType: 'application/octet-stream' };
    const present = await this.objects.head(name);
    if (present?.bytes !== data.length) await this.objects.put(name, data, options);
    else if (scope === undefined) await this.objects.touch(name, data, options);
    return { key, sha256: hash, bytes: data.length };
  }

  /** Deletes a run's intermediates; returns what was removed (nothing when the run had none, or they are gone). */
  deleteScratch(scope: string): Promise<ObjectInfo[]> {
    return this.objects.deleteFolder(scratchFolder(scope));
  }

  async get(key: string): Promise<Buffer> {
    const name = this.nameOf(key);
    const expected = hashOfKey(key);
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
