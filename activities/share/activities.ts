import type { BlobStore, ObjectStore } from '../../src/lib/blob-store';
import type { WebhookSettings } from '../../src/lib/config';
import { createGalleryShare } from './gallery';
import { createWebhookShare } from './webhook';

export interface ShareDeps {
  store: BlobStore;
  /** Where the gallery lives: a folder or a bucket prefix that every share worker publishes into. */
  gallery: ObjectStore;
  webhook?: WebhookSettings;
}

/** The share nano-services: one activity per target, plus the gallery's compensation. */
export function createShareActivities(deps: ShareDeps) {
  return { ...createGalleryShare(deps), ...createWebhookShare({ webhook: deps.webhook }) };
}

export type ShareActivities = ReturnType<typeof createShareActivities>;
