import { ApplicationFailure } from '@temporalio/common';
import type { UploadLimits } from '../../src/lib/config';
import { invalidInput } from '../../src/common/params';

/**
 * Downloads for the upload activity. Failures a retry cannot fix (4xx, too many redirects, too large, a host that
 * does not exist or refuses connections) are non-retryable InvalidInput; failures that may pass (5xx, 408, 429,
 * timeouts, dropped connections) are plain Errors, which Temporal retries.
 */

export type DownloadLimits = Pick<UploadLimits, 'maxBytes' | 'fetchTimeoutMs' | 'maxRedirects'>;

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
/** Connection errors that mean the address is wrong: retrying a mistyped URL only delays the answer. */
const UNREACHABLE = new Set(['ENOTFOUND', 'ECONNREFUSED']);

/** `raw` resolved against `base` if it is an http(s) URL without credentials, else undefined. */
export function httpUrl(raw: string, base?: URL): URL | undefined {
  let url: URL;
  try {
    url = new URL(raw, base);
  } catch {
    return undefined;
  }
  // fetch refuses URLs with credentials; saying so here gives a clearer error than its TypeError.
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
): Promise<Buffer> {
  const timeout = AbortSignal.timeout(limits.fetchTimeoutMs);
  const signal = cancel ? AbortSignal.any([timeout, cancel]) : timeout;
  const fail = (err: unknown): never => {
    throw explainFailure(err, url, limits.fetchTimeoutMs, timeout, cancel);
  };
  const response = await follow(url, limits.maxRedirects, signal).catch(fail);
  await checkStatus(response);
  return readCapped(response, limits.maxBytes, onProgress).catch(fail);
}

/** Turns fetch's errors (a TypeError whose cause says what happened, or the abort reason) into ours. */
function explainFailure(
  err: unknown,
  url: URL,
  timeoutMs: number,
  timeout: AbortSignal,
  cancel?: AbortSignal,
): unknown {
  if (err instanceof ApplicationFailure || cancel?.aborted) return err;
  if (timeout.aborted) return new Error(`upload: downloading ${url} timed out after ${timeoutMs} ms (fetchTimeoutMs)`);
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code && UNREACHABLE.has(cause.code)) {
    return invalidInput(`upload: ${url} is unreachable (${cause.code}); check the host name and port`);
  }
  // fetch refuses some ports outright (the Fetch standard's "bad ports", such as 25 for SMTP).
  if (cause?.message === 'bad port')
    return invalidInput(`upload: fetch refuses to connect to port ${url.port} (${url})`);
  return new Error(`upload: downloading ${url} failed: ${cause?.message ?? (err as Error).message}`, { cause: err });
}

async function follow(start: URL, maxRedirects: number, signal: AbortSignal): Promise<Response> {
  let url = start;
  for (let redirects = 0; ; redirects++) {
    // 'manual' so every hop is checked here: fetch's own following would accept any number and any scheme.
    const response = await fetch(url, { redirect: 'manual', signal });
    if (!REDIRECT_STATUSES.has(response.status)) return response;
    await response.body?.cancel();
    if (redirects === maxRedirects) {
      throw invalidInput(
        `upload: expected at most ${maxRedirects} redirects (maxRedirects), ${start} redirected more often (a loop?)`,
      );
    }
    const location = response.headers.get('location');
    const next = location === null ? undefined : httpUrl(location, url);
    if (!next)
      throw invalidInput(`upload: ${url} redirected to ${JSON.stringify(location)}; expected an http: or https: URL`);
    url = next;
  }
}

async function checkStatus(response: Response): Promise<void> {
  if (response.ok) return;
  await response.body?.cancel();
  const answer = `upload: ${response.url} answered ${response.status} ${response.statusText}`;
  const transient = response.status >= 500 || response.status === 408 || response.status === 429;
  if (transient) throw new Error(`${answer}; will retry`);
  throw invalidInput(`${answer}; expected 200 OK`);
}

async function readCapped(response: Response, maxBytes: number, onProgress: (bytes: number) => void): Promise<Buffer> {
  const tooLarge = (size: string) =>
    invalidInput(`upload: expected a download of at most ${maxBytes} bytes (maxBytes), received ${size}`);
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (declared > maxBytes) {
    await response.body?.cancel();
    throw tooLarge(`a Content-Length of ${declared} bytes`);
  }
  // Content-Length may be absent or wrong, so count while streaming and stop as soon as the limit is passed.
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of response.body ?? []) {
    total += chunk.length;
    if (total > maxBytes) throw tooLarge(`${total} bytes and stopped reading`); // leaving the loop cancels the stream
    chunks.push(chunk);
    onProgress(total);
  }
  return Buffer.concat(chunks, total);
}
