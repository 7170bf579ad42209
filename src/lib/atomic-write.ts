import { randomBytes } from 'node:crypto';
import { rename, rm, writeFile } from 'node:fs/promises';

/** What a write in progress is called; a process killed mid-write leaves one behind. */
export const PARTIAL_SUFFIX = '.partial';

/** Readers (browsers, other workers) see the old file or the new one, never half of one. */
export async function writeAtomic(file: string, data: string | Buffer): Promise<void> {
  const partial = `${file}.${randomBytes(6).toString('hex')}${PARTIAL_SUFFIX}`;
  try {
    await writeFile(partial, data);
    await rename(partial, file);
  } catch (err) {
    await rm(partial, { force: true });
    throw err;
  }
}
