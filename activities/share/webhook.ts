import { cancellationSignal } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { WebhookSettings } from '../../src/lib/config';
import { OUTPUT_FORMATS } from '../../src/common/formats';
import { checkImageRef } from '../../src/common/image-ref';
import { invalidInput } from '../../src/common/params';
import type { ShareInput, ShareReceipt } from '../../src/common/types';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, signWebhook } from './webhook-signature';

/**
 * The webhook share target: one signed JSON POST that Slack incoming webhooks and Discord webhooks both accept.
 * The URL and secret come from the worker's environment only. Webhook URLs are secrets themselves (Slack and
 * Discord put the token in the path), so errors and receipts, which end up in workflow history, show the origin
 * only.
 */
export const WEBHOOK_NOT_CONFIGURED = 'WebhookNotConfigured';
export const WEBHOOK_REJECTED = 'WebhookRejected';

const DEFAULT_TIMEOUT_MS = 10_000;
/** Enough of an error answer to diagnose it; the rest is not read, so a huge answer costs nothing. */
const READ_LIMIT = 16_384;
const EXCERPT_CHARS = 200;
const MAX_TITLE_CHARS = 200;

function notConfigured(problem: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(`webhook share target ${problem}`, WEBHOOK_NOT_CONFIGURED);
}

function targetUrl(settings: WebhookSettings): URL {
  // Never echo the value: it is a secret, and URL's own error message would include it.
  const url = URL.canParse(settings.url) ? new URL(settings.url) : undefined;
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:') || url.username || url.password) {
    throw notConfigured('is misconfigured: NANO_PHOTOS_WEBHOOK_URL must be an http(s) URL without credentials');
  }
  return url;
}

function checkInput(input: ShareInput): void {
  const { idempotencyKey, title, filters, image } = input;
  // Header values must be printable ASCII; anything else would make fetch throw on every retry.
  if (typeof idempotencyKey !== 'string' || !/^[\x21-\x7e]{1,200}$/.test(idempotencyKey)) {
    throw invalidInput(
      `shareWebhook: expected idempotencyKey to be 1-200 printable ASCII characters, received ${JSON.stringify(idempotencyKey)}`,
    );
  }
  if (typeof title !== 'string')
    throw invalidInput(`shareWebhook: expected title to be a string, received ${JSON.stringify(title)}`);
  if (!Array.isArray(filters) || !filters.every((f) => typeof f === 'string')) {
    throw invalidInput(`shareWebhook: expected filters to be an array of strings, received ${JSON.stringify(filters)}`);
  }
  checkImageRef('shareWebhook', image, OUTPUT_FORMATS);
}

/** Slack reads `text` (where &, < and > are control characters), Discord reads `content`. */
export function webhookMessage(input: ShareInput): Record<string, unknown> {
  const { image, filters } = input;
  const title = input.title.length > MAX_TITLE_CHARS ? `${input.title.slice(0, MAX_TITLE_CHARS)}…` : input.title;
  const line =
    `New photo "${title}": ${image.width}×${image.height} ${image.format}, ` +
    `filters: ${filters.length ? filters.join(', ') : 'none'}, sha256 ${image.sha256.slice(0, 12)}`;
  const slack = line.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  // allowed_mentions: a title containing @everyone must not ping a Discord server.
  return { username: 'nano-photos', text: slack, content: line, allowed_mentions: { parse: [] } };
}

async function readHead(res: Response): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < READ_LIMIT) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.length;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return Buffer.concat(chunks).subarray(0, READ_LIMIT).toString('utf8');
}

function wasReplayed(res: Response, text: string): boolean {
  if (res.headers.get('idempotency-replayed')?.toLowerCase() === 'true') return true;
  try {
    return (JSON.parse(text) as { duplicate?: unknown })?.duplicate === true;
  } catch {
    return false; // Slack answers a plain "ok"
  }
}

export function createWebhookShare(deps: { webhook?: WebhookSettings; timeoutMs?: number }) {
  const timeoutMs = deps.timeoutMs ?? DEFAULT_TIMEOUT_MS;

  return {
    async shareWebhook(input: ShareInput): Promise<ShareReceipt> {
      if (!deps.webhook) {
        throw notConfigured(
          'is not configured on this worker: set NANO_PHOTOS_WEBHOOK_URL and NANO_PHOTOS_WEBHOOK_SECRET in its environment',
        );
      }
      const { secret } = deps.webhook;
      const url = targetUrl(deps.webhook);
      checkInput(input);
      const where = `webhook ${url.origin}`;
      // An answer may echo what it was sent to; keep the secret and the URL's token-bearing parts out of errors.
      const redact = (text: string) =>
        [secret, url.href, url.pathname.length > 1 ? url.pathname : '', url.search]
          .filter(Boolean)
          .reduce((acc, s) => acc.split(s).join('[redacted]'), text);

      const body = JSON.stringify(webhookMessage(input));
      // Fresh per attempt: the signature stays within the receiver's tolerance window across retries.
      const timestamp = String(Math.floor(Date.now() / 1000));
      let res: Response;
      let text: string;
      try {
        res = await fetch(url, {
          method: 'POST',
          headers: {
            'Content-Type': 'application/json',
            'Idempotency-Key': input.idempotencyKey,
            [TIMESTAMP_HEADER]: timestamp,
            [SIGNATURE_HEADER]: signWebhook(secret, timestamp, body),
          },
          body,
          // A redirect would re-send (or drop) the POST somewhere not configured; report it instead.
          redirect: 'manual',
          signal: AbortSignal.any([AbortSignal.timeout(timeoutMs), cancellationSignal()]),
        });
        text = await readHead(res);
      } catch (err) {
        if (cancellationSignal().aborted) throw err; // the activity was cancelled: not a delivery failure
        const e = err as Error & { cause?: { code?: string } };
        // Only the error's name or code: undici's messages may carry the address.
        const why =
          e.name === 'TimeoutError'
            ? `no answer within ${timeoutMs} ms`
            : `request failed (${e.cause?.code ?? e.name})`;
        // eslint-disable-next-line preserve-caught-error -- the cause would carry the address into history
        throw new Error(`${where}: ${why}; will retry`);
      }

      if (res.status >= 200 && res.status < 300) {
        return {
          target: 'webhook',
          location: url.origin,
          idempotencyKey: input.idempotencyKey,
          duplicate: wasReplayed(res, text),
        };
      }
      const excerpt = redact(text).replace(/\s+/g, ' ').trim().slice(0, EXCERPT_CHARS);
      const answer = `${where} answered ${res.status} ${res.statusText}${excerpt ? `: ${excerpt}` : ''}`;
      if (res.status >= 500 || res.status === 408 || res.status === 429) throw new Error(`${answer}; will retry`);
      throw ApplicationFailure.nonRetryable(
        `${answer}; the receiver rejects this message, retrying will not help`,
        WEBHOOK_REJECTED,
      );
    },
  };
}
