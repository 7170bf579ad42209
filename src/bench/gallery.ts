import { openObjectStore } from '../lib/blob-store';
import { loadConfig } from '../lib/config';

/**
 * Empties the gallery that processes with this data folder and environment publish into. Every share lists the
 * gallery and renders its whole page, so it costs more the more entries there are; the three photo modes publish
 * into one deployment's gallery and the monolith into its own. Emptied before every measured round, each mode's
 * shares see a gallery of the same size (0 to one round's photos), as like must be compared with like.
 */
export async function emptyGallery(dataDir: string, env: Record<string, string>): Promise<void> {
  const store = loadConfig({ ...process.env, ...env, NANO_PHOTOS_DATA_DIR: dataDir }).galleryStore;
  // The AWS SDK finds keys in this process's environment; an S3 deployment's keys are in its workers' (--blob s3).
  const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey } = env;
  const gallery = openObjectStore(
    store.driver === 's3' && accessKeyId && secretAccessKey
      ? { ...store, s3: { ...store.s3, credentials: { accessKeyId, secretAccessKey } } }
      : store,
  );
  for (const object of await gallery.list()) await gallery.delete(object.name);
}
