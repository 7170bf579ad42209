import type { Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { openBlobStore, openObjectStore } from '../lib/blob-store';
import type { PhotoConfig } from '../lib/config';
import { webUiLink } from '../lib/photo-runs';
import { buildWebApp } from './app';
import { galleryReader } from './gallery-source';

/** The photo site on the stores and limits the settings name, listening where they say (npm run web, npm run demo). */
export async function startPhotoSite(
  config: PhotoConfig,
  client: Client,
  uiUrl = config.uiUrl,
): Promise<{ app: FastifyInstance; address: string }> {
  const app = await buildWebApp({
    client,
    store: openBlobStore(config.blobStore),
    readGallery: galleryReader(openObjectStore(config.galleryStore)),
    webUiOf: (id) => webUiLink(uiUrl, client.options.namespace, id),
    limits: { maxBytes: config.upload.maxBytes, maxFiles: config.web.maxFiles },
  });
  try {
    return { app, address: await app.listen({ host: config.web.host, port: config.web.port }) };
  } catch (err) {
    await app.close();
    throw err;
  }
}
