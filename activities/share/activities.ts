import type { BlobStore, ObjectStore } from '../../src/lib/blob-store';
import type { BlueskySettings, WebhookSettings } from '../../src/lib/config';
import { createBlueskyShare } from './bluesky';
import { createGalleryShare } from './gallery';
import { createWebhookShare } from './webhook';

export interface ShareDeps {
  store: BlobStore;
  /** Where the gallery lives: a folder or a bucket prefix that every share worker publishes into. */
  gallery: ObjectStore;
  webhook?: WebhookSettings;
  bluesky?: BlueskySettings;
  /** Crash tests only: see PhotoConfig.killAfterBlueskyPost. */
  killAfterBlueskyPost?: boolean;
}

/** The share nano-services: one activity per target, plus the compensations of those that can be taken back. */
export function createShareActivities(deps: ShareDeps) {
  return {
    ...createGalleryShare(deps),
    ...createWebhookShare({ webhook: deps.webhook }),
    ...createBlueskyShare({ store: deps.store, bluesky: deps.bluesky, killAfterPost: deps.killAfterBlueskyPost }),
  };
}

export type ShareActivities = ReturnType<typeof createShareActivities>;
