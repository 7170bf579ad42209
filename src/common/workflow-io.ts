// Workflow-safe core: every edit here is a workflow change, covered by the replay test (test/replay.test.ts).
import type { ReviewOutcome, ReviewRequest } from './review';
import type { FilterStep, ImageRef, ShareReceipt, UploadSource } from './types';

/** Workflow IDs become idempotency keys, header values and gallery file names: keep them to a safe alphabet. */
export const SAFE_ID = /^(?!.*\.\.)[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$/;

export const SHARE_TARGETS = ['gallery', 'webhook', 'bluesky'] as const;
export const INTERMEDIATES = ['store', 'memory'] as const;
export type Intermediates = (typeof INTERMEDIATES)[number];
export type ShareTarget = (typeof SHARE_TARGETS)[number];

/** The workflow's input: plain JSON, so `temporal workflow start --input '…'` can start a run too. */
export interface ProcessPhotoInput {
  source: UploadSource;
  filters?: FilterStep[];
  share?: ShareTarget[];
  /** Shown in the gallery and webhook messages and as a Bluesky post's alt text; defaults to the file name or URL. */
  title?: string;
  /**
   * Run all filter steps as one activity (applyChain) on the filter queue instead of one activity each: the same
   * output, without intermediate blobs and per-step round trips; `steps` in the result then has one entry whose
   * filter names are joined by `+`. Default false.
   */
  fuse?: boolean;
  /**
   * Where each filter step leaves its result for the next one. `store` (default): the run's scratch folder in the
   * blob store, so any worker can take the next step and the run page shows every step. `memory`: the filter
   * worker keeps it in memory and the next step is sent to that worker's own task queue; if that worker is gone,
   * the step runs on any worker, which makes the image again from the original (no hashing, writing or reading of
   * intermediates; no previews of them).
   */
  intermediates?: Intermediates;
  /** Wait after the filters for a person to approve (the `review` Update) before sharing; see src/common/review.ts. */
  review?: ReviewRequest;
}

export interface ProcessPhotoResult {
  original: ImageRef;
  /** The final, encoded image. */
  output: ImageRef;
  /** Every step's image; those before the output are the run's intermediates, deleted when the run ends. */
  steps: { filter: string; image: ImageRef }[];
  shares: ShareReceipt[];
  /** Runs started with `review`: the decision. Anything but `approved` means nothing was shared. */
  review?: ReviewOutcome;
}

export type Stage = 'starting' | 'upload' | 'filter' | 'review' | 'share' | 'compensating' | 'done' | 'failed';

/** What the `progress` query answers. */
export interface Progress {
  stage: Stage;
  /** The step running now, e.g. `resize` or `share:webhook`. */
  step: string;
  stepsDone: number;
  stepsTotal: number;
  /** The newest artifact, so a watcher can look at intermediate results. */
  currentArtifact?: ImageRef;
  shares: ShareReceipt[];
  error?: string;
  /** Every step the run will take, in order (`upload`, the filters, `review`, `share:<target>`), known up front. */
  plan?: string[];
  /** Steps finished so far, with the artifact each produced: a watcher that looks now and then misses none. */
  finished?: { step: string; artifact?: ImageRef }[];
  /** Runs with review, once they wait for it: when the wait ends, and how it ended. */
  review?: { deadline: string; outcome?: ReviewOutcome };
}
