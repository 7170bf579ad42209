// Workflow-safe core: every edit here is a workflow change, covered by the replay test (test/replay.test.ts).
import { invalidInput } from './params';

/**
 * Review before publishing: a run started with `review` stops after its filters until a person approves or rejects
 * the output (the `review` Update), or until the timeout passes; only an approved photo is shared.
 */

/** How long a review waits when the request names no timeout. */
export const DEFAULT_REVIEW_TIMEOUT = '24 hours';
const MIN_TIMEOUT_MS = 60_000;
/** The longest a run may wait for review: what its output must outlive (see src/common/retention.ts). */
export const MAX_TIMEOUT_MS = 30 * 24 * 3_600_000;

/** What a run's input asks for: `{}` waits the default time. */
export interface ReviewRequest {
  /** A duration such as `90 minutes`, `2h` or `7 days` (1 minute to 30 days). */
  timeout?: string;
}

/** The Update's argument. */
export interface ReviewDecision {
  decision: 'approve' | 'reject';
  /** Who decided, as the reviewer names themselves; recorded in the result and the memo. */
  by: string;
  note?: string;
}

export interface ReviewOutcome {
  decision: 'approved' | 'rejected' | 'timed-out';
  by?: string;
  note?: string;
  /** ISO 8601, workflow time. */
  at: string;
}

const UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION = /^(\d+(?:\.\d+)?)\s*(s|sec|secs|seconds?|m|min|mins|minutes?|h|hrs?|hours?|d|days?)$/;

/** `90 minutes` → 5 400 000, `35 days`, `2h`: the forms a person types; NaN for anything else. */
export function durationMs(raw: unknown): number {
  const match = typeof raw === 'string' ? DURATION.exec(raw.trim()) : null;
  return match ? Math.round(Number(match[1]) * UNITS[match[2][0]]) : NaN;
}

/** Checked here so the workflow never meets a bad timer. */
export function parseReviewTimeout(raw: unknown): number {
  const ms = durationMs(raw);
  if (!(ms >= MIN_TIMEOUT_MS && ms <= MAX_TIMEOUT_MS)) {
    throw invalidInput(
      `expected review.timeout to be a duration between 1 minute and 30 days, like "90 minutes", "24h" or "7 days", ` +
        `received ${JSON.stringify(raw)}`,
    );
  }
  return ms;
}

/** The review settings of a request, or undefined when the run publishes without review. */
export function parseReviewRequest(raw: unknown): { timeoutMs: number } | undefined {
  if (raw === undefined) return undefined;
  const request = raw as Record<string, unknown> | null;
  if (request === null || typeof request !== 'object' || Array.isArray(request)) {
    throw invalidInput(`expected review to be an object like {"timeout": "24h"}, received ${JSON.stringify(raw)}`);
  }
  const unknown = Object.keys(request).find((k) => k !== 'timeout');
  if (unknown) throw invalidInput(`review: unknown field "${unknown}"; expected only timeout`);
  return { timeoutMs: parseReviewTimeout(request.timeout ?? DEFAULT_REVIEW_TIMEOUT) };
}

export const MAX_REVIEWER_CHARS = 100;
export const MAX_NOTE_CHARS = 500;

/** Checks an Update's argument: the validator refuses a bad one before anything reaches history. */
export function checkDecision(raw: unknown): ReviewDecision {
  const { decision, by, note } = (raw ?? {}) as Partial<ReviewDecision>;
  if (decision !== 'approve' && decision !== 'reject') {
    throw invalidInput(`expected decision to be approve or reject, received ${JSON.stringify(decision)}`);
  }
  if (typeof by !== 'string' || by.trim() === '' || by.length > MAX_REVIEWER_CHARS) {
    throw invalidInput(
      `expected by (who decides) to be a name of 1 to ${MAX_REVIEWER_CHARS} characters, received ${JSON.stringify(by)}`,
    );
  }
  if (note !== undefined && (typeof note !== 'string' || note.length > MAX_NOTE_CHARS)) {
    throw invalidInput(`expected note to be a string of at most ${MAX_NOTE_CHARS} characters`);
  }
  return { decision, by: by.trim(), ...(note ? { note } : {}) };
}
