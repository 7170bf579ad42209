import { createHash } from 'node:crypto';
import { mkdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { checkKey } from '../common/image-ref';
import { writeAtomic } from './atomic-write';

export interface StoredBlob {
  key: string;
  sha256: string;
  bytes: number;
}

/**
 * Where image bytes live (the claim check): Temporal only ever sees keys. Content-addressed, so storing the same
 * bytes twice, as a retried activity does, yields the same key and no duplicate. Small on purpose: an
 * S3-compatible store needs only these three calls.
 */
export interface BlobStore {
  put(data: Buffer, extension: string): Promise<StoredBlob>;
  get(key: string): Promise<Buffer>;
  has(key: string): Promise<boolean>;
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** A directory of `<2-char prefix>/<sha256>.<ext>` files, written atomically. */
export class FileBlobStore implements BlobStore {
  constructor(readonly root: string) {}

  pathOf(key: string): string {
    checkKey(key);
    return path.join(this.root, key.slice(0, 2), key);
  }

  async put(data: Buffer, extension: string): Promise<StoredBlob> {
    const hash = sha256(data);
    const key = checkKey(`${hash}.${extension}`);
    const file = this.pathOf(key);
    if (!(await this.has(key))) {
      await mkdir(path.dirname(file), { recursive: true });
      await writeAtomic(file, data);
    }
    return { key, sha256: hash, bytes: data.length };
  }

  async get(key: string): Promise<Buffer> {
    try {
      return await readFile(this.pathOf(key));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT')
        throw new Error(`blob ${key} is not in the store at ${this.root}`, { cause: err });
      throw err;
    }
  }

  async has(key: string): Promise<boolean> {
    try {
      return (await stat(this.pathOf(key))).isFile();
    } catch {
      return false;
    }
  }
}
