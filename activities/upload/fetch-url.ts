import { ApplicationFailure } from '@temporalio/common';
import { lookup } from 'node:dns/promises';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import type { UploadLimits } from '../../src/lib/config';
import { mayConnect } from '../../src/lib/ip-networks';
import { invalidInput } from '../../src/common/params';

/**
 * Downloads for the upload activity. Only public addresses are connected to (and networks NANO_PHOTOS_URL_ALLOW
 * lists): each host name is resolved once, the address checked and then pinned for the connection, so a second DNS
 * answer cannot swap it; every redirect hop is checked the same way. Failures a retry cannot fix (4xx, too many
 * redirects, too large, an address that is refused or does not answer) are non-retryable InvalidInput; failures
 * that may pass (5xx, 408, 429, timeouts, dropped connections) are plain Errors, which Temporal retries.
 */

export type DownloadLimits = Pick<UploadLimits, 'maxBytes' | 'fetchTimeoutMs' | 'maxRedirects' | 'allowedNetworks'>;

export interface ResolvedAddress {
  address: string;
  family: number;
}

/** Host name to addresses: the system resolver, or a test's. */
export type Resolver = (host: string) => Promise<ResolvedAddress[]>;

export const systemResolver: Resolver = (host) => lookup(host, { all: true, verbatim: true });

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
/**
 * Errors that mean nothing answers there. They get the same message as a refused address, so that a caller cannot
 * tell an internal service that is listening from one that is not.
 */
const UNREACHABLE = new Set(['ENOTFOUND', 'ENODATA', 'ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL']);

const unreachable = (url: URL) =>
  invalidInput(
    `upload: ${url} is unreachable or not a public address; internal networks are fetched only when ` +
      'NANO_PHOTOS_URL_ALLOW on the upload worker lists them',
  );

/** `raw` resolved against `base` if it is an http(s) URL without credentials, else undefined. */
export function httpUrl(raw: string, base?: URL): URL | undefined {
  let url: URL;
  try {
    url = new URL(raw, base);
  } catch {
    return undefined;
  }
  // Credentials in a URL end up in logs and history; an image source has no business needing them.
  const ok = (url.protocol === 'http:' || url.protocol === 'https:') && !url.username && !url.password;
  return ok ? url : undefined;
}

/**
 * Reads `url` into memory, following at most maxRedirects redirects, within fetchTimeoutMs in total (the body
 * included) and never holding more than maxBytes. `cancel` is the activity's cancellation signal, if any.
 */
export async function download(
  url: URL,
  limits: DownloadLimits,
  onProgress: (bytes: number) => void,
  cancel?: AbortSignal,
  resolve: Resolver = systemResolver,
): Promise<Buffer> {
  const timeout = AbortSignal.timeout(limits.fetchTimeoutMs);
  const signal = cancel ? AbortSignal.any([timeout, cancel]) : timeout;
  let at = url;
  const fail = (err: unknown): never => {
    if (err instanceof ApplicationFailure || cancel?.aborted) throw err;
    if (timeout.aborted) {
      throw new Error(`upload: downloading ${url} timed out after ${limits.fetchTimeoutMs} ms (fetchTimeoutMs)`);
    }
    const code = (err as NodeJS.ErrnoException).code;
    if (code && UNREACHABLE.has(code)) throw unreachable(at);
    throw new Error(`upload: downloading ${at} failed: ${(err as Error).message}`, { cause: err });
  };
  try {
    for (let redirects = 0; ; redirects++) {
      const response = await get(at, limits, resolve, signal);
      if (!REDIRECT_STATUSES.has(response.statusCode ?? 0)) {
        checkStatus(response, at);
        return await readCapped(response, limits.maxBytes, onProgress);
      }
      response.destroy();
      if (redirects === limits.maxRedirects) {
        throw invalidInput(
          `upload: expected at most ${limits.maxRedirects} redirects (maxRedirects), ${url} redirected more often (a loop?)`,
        );
      }
      // Followed here, hop by hop, so every hop's address is checked like the first.
      const location = response.headers.location;
      const next = location === undefined ? undefined : httpUrl(location, at);
      if (!next)
        throw invalidInput(`upload: ${at} redirected to ${JSON.stringify(location)}; expected an http: or https: URL`);
      at = next;
    }
  } catch (err) {
    return fail(err);
  }
}

/** The one address this host name may be reached at, checked; refused and unresolvable hosts look the same. */
async function pinAddress(url: URL, limits: DownloadLimits, resolve: Resolver): Promise<ResolvedAddress> {
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const addresses = isIP(host)
    ? [{ address: host, family: isIP(host) }]
    : await resolve(host).catch((err: NodeJS.ErrnoException) => {
        throw UNREACHABLE.has(err.code ?? '') ? unreachable(url) : err;
      });
  // Every answer must be allowed: which one a connection would take must not decide, and a name can mix them.
  if (addresses.length === 0 || !addresses.every((a) => mayConnect(a.address, limits.allowedNetworks))) {
    throw unreachable(url);
  }
  return addresses[0];
}

async function get(url: URL, limits: DownloadLimits, resolve: Resolver, signal: AbortSignal): Promise<IncomingMessage> {
  const pinned = await pinAddress(url, limits, resolve);
  // The connection goes to the checked address whatever the name resolves to now; TLS still verifies the name.
  const pin: LookupFunction = (_host, options, callback) => {
    if (options.all) callback(null, [pinned]);
    else callback(null, pinned.address, pinned.family);
  };
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolvePromise, reject) => {
    const request = client.get(url, { lookup: pin, agent: false, signal, headers: { accept: 'image/*' } });
    request.once('response', resolvePromise);
    // Kept for the request's whole life: an abort while the body is read emits here too, after the response.
    request.on('error', reject);
  });
}

function checkStatus(response: IncomingMessage, url: URL): void {
  const status = response.statusCode ?? 0;
  if (status >= 200 && status < 300) return;
  response.destroy();
  const answer = `upload: ${url} answered ${status} ${response.statusMessage ?? ''}`.trimEnd();
  const transient = status >= 500 || status === 408 || status === 429;
  if (transient) throw new Error(`${answer}; will retry`);
  throw invalidInput(`${answer}; expected 200 OK`);
}

async function readCapped(
  response: IncomingMessage,
  maxBytes: number,
  onProgress: (bytes: number) => void,
): Promise<Buffer> {
  const tooLarge = (size: string) =>
    invalidInput(`upload: expected a download of at most ${maxBytes} bytes (maxBytes), received ${size}`);
  const declared = Number(response.headers['content-length'] ?? NaN);
  if (declared > maxBytes) {
    response.destroy();
    throw tooLarge(`a Content-Length of ${declared} bytes`);
  }
  // Content-Length may be absent or wrong, so count while streaming and stop as soon as the limit is passed.
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of response as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > maxBytes) throw tooLarge(`${total} bytes and stopped reading`); // leaving the loop destroys the stream
    chunks.push(chunk);
    onProgress(total);
  }
  return Buffer.concat(chunks, total);
}
