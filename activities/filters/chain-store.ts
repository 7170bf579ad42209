import { randomBytes } from 'node:crypto';
import type { BlobStore, StoredBlob } from '../../src/lib/blob-store';

/**
 * Keeps a chain's intermediates in this process instead of the blob store: reads fall through to the real store
 * (the original), every write stays in memory, unless `persistNext` sends it to the real store (a fused chain's
 * last step), and is dropped once the next step has read it. The
 * in-memory keys are random (never hashed: they never leave the activity), shaped like store keys so the filter
 * activities accept them.
 */
export class ChainStore implements BlobStore {
  private readonly held = new Map<string, Buffer>();
  /** Set before the last step: its result goes to the real store. */
  persistNext = false;

  constructor(private readonly store: BlobStore) {}

  async put(data: Buffer, extension: string, scope?: string): Promise<StoredBlob> {
    if (this.persistNext) return this.store.put(data, extension, scope);
    const hex = randomBytes(32).toString('hex');
    const key = `${hex}.${extension}`;
    this.held.set(key, data);
    return { key, sha256: hex, bytes: data.length };
  }

  async get(key: string): Promise<Buffer> {
    const data = this.held.get(key);
    if (!data) return this.store.get(key);
    this.held.delete(key);
    return data;
  }

  async has(key: string): Promise<boolean> {
    return this.held.has(key) || this.store.has(key);
  }
}
