import type { BlobStore } from '../../src/lib/blob-store';
import type { WebhookSettings } from '../../src/lib/config';
import { createGalleryShare } from './gallery';
import { createWebhookShare } from './webhook';

export interface ShareDeps {
  store: BlobStore;
  galleryDir: string;
  webhook?: WebhookSettings;
}

/** The share nano-services: one activity per target, plus the gallery's compensation. */
export function createShareActivities(deps: ShareDeps) {
  return { ...createGalleryShare(deps), ...createWebhookShare({ webhook: deps.webhook }) };
}

export type ShareActivities = ReturnType<typeof createShareActivities>;
