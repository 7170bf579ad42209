// Workflow-safe core: every edit here is a workflow change, covered by the replay test (test/replay.test.ts).
import { MAX_TIMEOUT_MS } from './review';

/**
 * How long originals and outputs are kept after their last use (NANO_PHOTOS_RETENTION). A run that waits for review
 * must find its output still there when it is approved, up to the longest review timeout, and share it then (shares
 * retry for about 2 hours): so never less than the longest review plus a day.
 */
export const MIN_RETENTION_MS = MAX_TIMEOUT_MS + 24 * 3_600_000;
export const DEFAULT_RETENTION = '35 days';

/** The store's sweep, on a Temporal Schedule: its ID and how often it runs. */
export const SWEEP_SCHEDULE_ID = 'nano-photos-sweep';
export const SWEEP_EVERY = '6 hours';

export interface SweepStoreInput {
  /** Originals and outputs not used for this long are deleted; at least the worker's NANO_PHOTOS_RETENTION. */
  retentionMs: number;
}

export interface SweepInput {
  /** ISO 8601: originals and outputs last written or used before this are deleted. */
  cutoff: string;
}

export interface Tally {
  objects: number;
  bytes: number;
}

export interface SweepSummary {
  cutoff: string;
  /** Intermediates of runs that have ended without deleting them (terminated, timed out, or from older code). */
  scratch: Tally & { runs: number };
  /** Scratch folders left alone: their runs are still going. */
  running: number;
  /** Originals and outputs older than the cutoff, deleted. */
  expired: Tally;
  /** Originals and outputs kept. */
  kept: Tally;
}
