import type { FileHandle } from 'node:fs/promises';

/**
 * An open file's bytes, at most `limit` of them, read into one buffer of `size` (what stat gave) plus the byte that
 * shows whether it has grown since: no chunks held beside their joined copy, which for a large photo was as much
 * memory again until the next garbage collection. A file that has grown is read on into a larger buffer.
 */
export async function readAll(handle: FileHandle, size: number, limit: number): Promise<Buffer> {
  let data = Buffer.allocUnsafe(Math.min(size + 1, limit));
  let length = 0;
  for (;;) {
    const { bytesRead } = await handle.read(data, length, data.length - length, null);
    length += bytesRead;
    if (bytesRead === 0 || length === limit) return data.subarray(0, length);
    if (length === data.length) {
      const larger = Buffer.allocUnsafe(Math.min(data.length * 2, limit));
      data.copy(larger);
      data = larger;
    }
  }
}
