import { copyFile, mkdir, realpath } from 'node:fs/promises';
import path from 'node:path';
import type { UploadLimits } from './config';

/**
 * A local photo as a path the upload worker may read (on this machine): the photo itself if it lies under an upload
 * root, else a copy in the first root (the inbox, by default), under its own name so titles stay readable.
 */
export async function inUploadRoot(
  photo: string,
  { allowedRoots }: Pick<UploadLimits, 'allowedRoots'>,
): Promise<string> {
  const real = await realpath(photo);
  for (const root of allowedRoots) {
    const relative = path.relative(await realpath(root).catch(() => root), real);
    if (!relative.startsWith('..') && !path.isAbsolute(relative)) return real;
  }
  const copy = path.join(allowedRoots[0], path.basename(real));
  await mkdir(allowedRoots[0], { recursive: true });
  await copyFile(real, copy);
  return copy;
}
