import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/**
 * The webhook signature, shared by the sending activity and by receivers (tests, or anyone wiring nano-photos to
 * their own endpoint): `sha256=<hex HMAC-SHA256 of "<unix seconds>.<raw body>">`. The timestamp is signed too, so
 * a captured request cannot be replayed outside the tolerance window with a fresh timestamp.
 */
export const TIMESTAMP_HEADER = 'x-nano-photos-timestamp';
export const SIGNATURE_HEADER = 'x-nano-photos-signature';

/** Five minutes either way: room for clock skew and retries, little for replays. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

export function signWebhook(secret: string, timestamp: number | string, body: string | Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex')}`;
}

/** Either the request's headers (Node's or fetch's) or the two values already taken out of them. */
export type SignatureSource = Headers | IncomingHttpHeaders | { timestamp?: string; signature?: string };

function pick(source: SignatureSource, header: string, value: 'timestamp' | 'signature'): string | undefined {
  if (source instanceof Headers) return source.get(header) ?? undefined;
  if (value in source) return (source as { [k: string]: string | undefined })[value];
  const found = (source as IncomingHttpHeaders)[header];
  return Array.isArray(found) ? found[0] : found;
}

export function verifyWebhook(
  secret: string,
  source: SignatureSource,
  body: string | Buffer,
  toleranceSeconds = DEFAULT_TOLERANCE_SECONDS,
): boolean {
  const timestamp = pick(source, TIMESTAMP_HEADER, 'timestamp');
  const signature = pick(source, SIGNATURE_HEADER, 'signature');
  if (!timestamp || !signature || !/^\d{1,12}$/.test(timestamp)) return false;
  if (Math.abs(Date.now() / 1000 - Number(timestamp)) > toleranceSeconds) return false;
  const expected = Buffer.from(signWebhook(secret, timestamp, body));
  const given = Buffer.from(signature);
  // timingSafeEqual throws on different lengths; the length of a well-formed signature is public anyway.
  return given.length === expected.length && timingSafeEqual(given, expected);
}
