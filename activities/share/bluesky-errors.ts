import { ApplicationFailure } from '@temporalio/common';
import { BLUESKY_IMAGE_LIMITS, BLUESKY_TEXT_LIMITS } from '../../src/common/share-limits';
import { BLUESKY_POST_REFUSED } from './bluesky-post';

/**
 * How the Bluesky share target reads a failed XRPC call. Only what would change with time is retried (the PDS is
 * down or busy, the network failed, a rate limit); what the PDS refuses for this account or this post fails at once,
 * naming the setting or the limit to change. Nothing here quotes the app password: XRPC errors never carry it.
 */
export const BLUESKY_CREDENTIALS = 'BlueskyCredentials';
export const BLUESKY_REJECTED = 'BlueskyRejected';
export const BLUESKY_RATE_LIMITED = 'BlueskyRateLimited';

/** The fields of @atproto/xrpc's XRPCError that matter here (status 1: no answer at all). */
interface XrpcFailure {
  status: number;
  error?: string;
  message: string;
  headers?: Record<string, string>;
}

function asXrpc(err: unknown): XrpcFailure | undefined {
  return err instanceof Error && typeof (err as Partial<XrpcFailure>).status === 'number'
    ? (err as unknown as XrpcFailure)
    : undefined;
}

/** The XRPC error name (e.g. `InvalidSwap`, `RecordNotFound`), if `err` is an answer from the PDS. */
export function xrpcErrorName(err: unknown): string | undefined {
  return asXrpc(err)?.error;
}

/** When the limit resets: Bluesky sends `ratelimit-reset` (epoch seconds); `retry-after` (seconds) is HTTP's own. */
export function rateLimitDelayMs(headers: Record<string, string> | undefined, now = Date.now()): number {
  const reset = Number(headers?.['ratelimit-reset']);
  const after = Number(headers?.['retry-after']);
  const ms = Number.isFinite(reset) && reset > 0 ? reset * 1000 - now : Number.isFinite(after) ? after * 1000 : 0;
  // Never sooner than a second: a reset that already passed (clock skew) must not turn into a tight loop.
  return Math.max(1000, Math.ceil(ms));
}

/**
 * The error an attempt fails with. `step` says what was being done ("signing in", "uploading the image", ...);
 * `where` names the PDS.
 */
export function classifyBlueskyError(err: unknown, step: string, where: string): Error {
  const x = asXrpc(err);
  if (!x) return new Error(`${where}: ${step} failed: ${(err as Error)?.message ?? String(err)}; will retry`);
  const answer = `${where} answered ${x.status}${x.error ? ` ${x.error}` : ''} while ${step}: ${x.message}`;
  if (x.status === 429) {
    const delayMs = rateLimitDelayMs(x.headers);
    return ApplicationFailure.create({
      message: `${answer}; rate limited, will retry in ${Math.round(delayMs / 1000)} s when the limit resets`,
      type: BLUESKY_RATE_LIMITED,
      nextRetryDelay: delayMs,
    });
  }
  if (x.status < 200 || x.status >= 500 || x.status === 408) {
    return new Error(x.status < 200 ? `${where}: ${step} failed: ${x.message}; will retry` : `${answer}; will retry`);
  }
  if (x.status === 401 && step === 'signing in') {
    return ApplicationFailure.nonRetryable(
      `${answer}; check NANO_PHOTOS_BLUESKY_HANDLE and NANO_PHOTOS_BLUESKY_APP_PASSWORD (an app password from ` +
        'Settings → Privacy and security → App passwords) in the share worker’s environment',
      BLUESKY_CREDENTIALS,
    );
  }
  if (x.status === 401) return new Error(`${answer}; the session ended, will sign in again and retry`);
  if (x.status === 400 || x.status === 413 || x.status === 415) {
    return ApplicationFailure.nonRetryable(
      `${answer}; Bluesky refuses this post (its limits: text of at most ${BLUESKY_TEXT_LIMITS.maxGraphemes} ` +
        `graphemes, images of at most ${BLUESKY_IMAGE_LIMITS.maxBytes} bytes), retrying will not help`,
      BLUESKY_POST_REFUSED,
    );
  }
  // 403 (account taken down or deactivated), 404 (not a PDS: XRPCNotSupported) and the like.
  return ApplicationFailure.nonRetryable(
    `${answer}; check NANO_PHOTOS_BLUESKY_SERVICE (the account’s PDS) and the account itself, retrying will not help`,
    BLUESKY_REJECTED,
  );
}
