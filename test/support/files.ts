import { readdir } from 'node:fs/promises';

/** Files under `dir` at any depth: the file store shards blobs into folders that two blobs may share. */
export async function countFiles(dir: string): Promise<number> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).length;
}
