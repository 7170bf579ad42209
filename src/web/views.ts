import type { ReviewOutcome } from '../common/review';

/** What the API answers about runs: plain types, shared by the server and the pages' scripts. */

/** What every page about one workflow (a run, an album) shows at its head. */
export interface WorkflowHead {
  workflowId: string;
  title: string;
  /** Temporal's status: RUNNING, COMPLETED, FAILED, CANCELLED, TERMINATED, TIMED_OUT. */
  status: string;
  startedAt: string;
  closedAt?: string;
  webUi: string;
  page: string;
}

/** What the run page and `GET /api/photos/:id` show of one run. */
export interface RunView extends WorkflowHead {
  stepsDone: number;
  stepsTotal: number;
  steps: StepView[];
  review?: { waiting: boolean; deadline?: string; outcome?: ReviewOutcome };
  output?: ArtifactView;
  shares: { target: string; duplicate: boolean }[];
  error?: string;
}

export type StepState = 'waiting' | 'running' | 'done' | 'failed' | 'skipped';

export interface StepView {
  name: string;
  state: StepState;
  artifact?: ArtifactView;
  /** While a service retries this step: the attempt running now (2 = the first retry) and why the last one failed. */
  attempt?: number;
  lastFailure?: string;
}

export interface ArtifactView {
  key: string;
  format: string;
  width: number;
  height: number;
  bytes: number;
  /** Unset for an intermediate held in a filter worker's memory (intermediates: 'memory'): there is none to show. */
  preview?: string;
}

/** What the album page and `GET /api/albums/:id` show. */
export interface AlbumView extends WorkflowHead {
  total: number;
  done: number;
  failed: number;
  photos: AlbumPhotoView[];
  error?: string;
}

export interface AlbumPhotoView {
  index: number;
  title: string;
  /** waiting, running, done, not-published (rejected or not reviewed in time) or failed. */
  state: string;
  workflowId: string;
  /** The photo's run page, once it has started. */
  page?: string;
  thumbnail?: string;
  error?: string;
}
