import { ApplicationFailure } from '@temporalio/common';
import type { AtpAgent } from '@atproto/api';
import type { BlobStore } from '../../src/lib/blob-store';
import type { BlueskySettings } from '../../src/lib/config';
import { checkImageRef } from '../../src/common/image-ref';
import { invalidInput } from '../../src/common/params';
import { BLUESKY_IMAGE_LIMITS } from '../../src/common/share-limits';
import type { ShareInput, ShareReceipt } from '../../src/common/types';
import { classifyBlueskyError, xrpcErrorName } from './bluesky-errors';
import { BLUESKY_POST_REFUSED, POST_COLLECTION, postRecord, postRecordKey, postText } from './bluesky-post';

/**
 * The Bluesky share target: one post with the photo, its title as alt text and a line of text, on the account
 * whose PDS, handle and app password are in the share worker's environment. Only the handle and the post's at://
 * URI leave the worker (receipts end up in workflow history).
 *
 * Exactly once: the record key and createdAt come from the run, the post is written create-only (putRecord with
 * swapRecord null), and an attempt first looks for the post an earlier, crashed attempt may have made.
 */
export const BLUESKY_NOT_CONFIGURED = 'BlueskyNotConfigured';

const MIME = { jpeg: 'image/jpeg', png: 'image/png', webp: 'image/webp' } as const;
const MAX_KEY_CHARS = 200;
/** A request that hangs fails the attempt well before its 30 s start-to-close timeout, so the retry comes sooner. */
const REQUEST_TIMEOUT_MS = 20_000;

export interface BlueskyDeps {
  store: BlobStore;
  bluesky?: BlueskySettings;
  /** Crash tests: kill this process right after the PDS stored the post (NANO_PHOTOS_TEST_KILL_AFTER_BLUESKY_POST). */
  killAfterPost?: boolean;
}

function checkInput(input: ShareInput) {
  const { idempotencyKey, title, filters, createdAt } = input ?? {};
  if (typeof idempotencyKey !== 'string' || idempotencyKey.length === 0 || idempotencyKey.length > MAX_KEY_CHARS) {
    throw invalidInput(
      `shareBluesky: expected idempotencyKey to be 1-${MAX_KEY_CHARS} characters, received ${JSON.stringify(idempotencyKey)}`,
    );
  }
  if (typeof title !== 'string' || title.trim() === '') {
    throw invalidInput(`shareBluesky: expected title to be a non-empty string, received ${JSON.stringify(title)}`);
  }
  if (!Array.isArray(filters) || !filters.every((f) => typeof f === 'string')) {
    throw invalidInput(`shareBluesky: expected filters to be an array of strings, received ${JSON.stringify(filters)}`);
  }
  // Canonical ISO 8601 only: the same string on every attempt is what makes the retried record identical.
  if (
    typeof createdAt !== 'string' ||
    !(Date.parse(createdAt) > 0) ||
    new Date(createdAt).toISOString() !== createdAt
  ) {
    throw invalidInput(
      `shareBluesky: expected createdAt to be the run's start time as ISO 8601 (e.g. 2026-07-01T09:30:00.000Z), ` +
        `received ${JSON.stringify(createdAt)}`,
    );
  }
  const image = checkImageRef('shareBluesky', input.image, BLUESKY_IMAGE_LIMITS.formats);
  const { maxBytes, maxSide } = BLUESKY_IMAGE_LIMITS;
  if (image.bytes > maxBytes || Math.max(image.width, image.height) > maxSide) {
    throw ApplicationFailure.nonRetryable(
      `shareBluesky: Bluesky takes images of at most ${maxBytes} bytes and ${maxSide} px a side (the workflow's ` +
        `fitImage makes such a variant), received ${image.width}×${image.height}, ${image.bytes} bytes`,
      BLUESKY_POST_REFUSED,
    );
  }
  return { idempotencyKey, title, filters, createdAt, image };
}

export function createBlueskyShare(deps: BlueskyDeps) {
  const settings = deps.bluesky;
  const where = `Bluesky PDS ${settings?.service}`;
  /** One session per worker process, shared by its activities: Bluesky limits how often an account signs in. */
  let session: Promise<AtpAgent> | undefined;

  async function signIn(): Promise<AtpAgent> {
    if (!settings) {
      throw ApplicationFailure.nonRetryable(
        'bluesky share target is not configured on this worker: set NANO_PHOTOS_BLUESKY_HANDLE and ' +
          'NANO_PHOTOS_BLUESKY_APP_PASSWORD (and NANO_PHOTOS_BLUESKY_SERVICE for a PDS other than bsky.social) ' +
          'in its environment',
        BLUESKY_NOT_CONFIGURED,
      );
    }
    if (session) return session;
    const attempt = (async () => {
      // @atproto/api is an ES module; this project is CommonJS, and a dynamic import loads it under tsx too.
      const { AtpAgent } = await import('@atproto/api');
      const agent = new AtpAgent({
        service: settings.service,
        fetch: (url, init) => {
          const timeout = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
          return fetch(url, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, timeout]) : timeout });
        },
      });
      await call('signing in', () => agent.login({ identifier: settings.handle, password: settings.appPassword }));
      return agent;
    })();
    session = attempt;
    attempt.catch(() => {
      if (session === attempt) session = undefined;
    });
    return attempt;
  }

  function fail(err: unknown, step: string): Error {
    // A session the PDS no longer takes (expired beyond refresh, app password revoked): sign in afresh next time.
    if (step !== 'signing in' && (err as { status?: number })?.status === 401) session = undefined;
    return classifyBlueskyError(err, step, where);
  }

  async function call<T>(step: string, request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (err) {
      throw fail(err, step);
    }
  }

  /** The post at `rkey`, or undefined when there is none. */
  async function findPost(agent: AtpAgent, repo: string, rkey: string): Promise<{ uri: string } | undefined> {
    try {
      const { data } = await agent.com.atproto.repo.getRecord({ repo, collection: POST_COLLECTION, rkey });
      return data;
    } catch (err) {
      if (xrpcErrorName(err) === 'RecordNotFound') return undefined;
      throw fail(err, 'looking for an earlier attempt’s post');
    }
  }

  return {
    async shareBluesky(input: ShareInput): Promise<ShareReceipt> {
      const { idempotencyKey, title, filters, createdAt, image } = checkInput(input);
      const text = postText(title, filters); // a text Bluesky would refuse fails here, before anything is sent
      const agent = await signIn();
      const { did, handle } = agent.session!;
      const rkey = postRecordKey(createdAt, idempotencyKey);
      const receipt = (uri: string, duplicate: boolean): ShareReceipt => ({
        target: 'bluesky',
        location: uri,
        idempotencyKey,
        duplicate,
        account: handle,
        image,
      });

      const earlier = await findPost(agent, did, rkey);
      if (earlier) return receipt(earlier.uri, true);

      const bytes = await deps.store.get(image.key);
      const { data: uploaded } = await call('uploading the image', () =>
        agent.uploadBlob(bytes, { encoding: MIME[image.format as keyof typeof MIME] }),
      );
      const record = postRecord({ text, alt: title, createdAt, image, blob: uploaded.blob });
      let uri: string;
      try {
        // swapRecord null: create only. The identical record again is a no-op; anything else is InvalidSwap.
        ({ uri } = (
          await agent.com.atproto.repo.putRecord({
            repo: did,
            collection: POST_COLLECTION,
            rkey,
            record,
            swapRecord: null,
          })
        ).data);
      } catch (err) {
        // Another attempt of this share (one that timed out but kept going) posted meanwhile: that post is ours.
        const other = xrpcErrorName(err) === 'InvalidSwap' ? await findPost(agent, did, rkey) : undefined;
        if (other) return receipt(other.uri, true);
        throw fail(err, 'posting');
      }
      if (deps.killAfterPost) process.kill(process.pid, 'SIGKILL');
      return receipt(uri, false);
    },

    /** Compensation: deletes the run's post. False when it was gone already (a retry of this compensation). */
    async retractBluesky(input: { uri: string }): Promise<boolean> {
      const match = /^at:\/\/([^/]+)\/([^/]+)\/([2-7a-z]{13})$/.exec(String(input?.uri));
      if (!match || match[2] !== POST_COLLECTION) {
        throw invalidInput(
          `retractBluesky: expected uri to be a post's at://<did>/${POST_COLLECTION}/<rkey>, received ${JSON.stringify(input?.uri)}`,
        );
      }
      const [, repo, collection, rkey] = match;
      const agent = await signIn();
      if (repo !== agent.session!.did) {
        throw invalidInput(
          `retractBluesky: ${input.uri} is not a post of this worker's account (${agent.session!.did})`,
        );
      }
      if (!(await findPost(agent, repo, rkey))) return false;
      await call('deleting the post', () => agent.com.atproto.repo.deleteRecord({ repo, collection, rkey }));
      return true;
    },
  };
}
