// Workflow-safe core: every edit here is a workflow change, covered by the replay test (test/replay.test.ts).
import { validateChain } from './filter-chain';
import { invalidInput } from './params';
import { parseReviewRequest } from './review';
import type { FilterStep } from './types';
import {
  INTERMEDIATES,
  SHARE_TARGETS,
  type Intermediates,
  type ProcessPhotoInput,
  type ShareTarget,
} from './workflow-io';

/** Everything a run is asked to do, apart from where the photo comes from. */
export type PhotoRequest = Omit<ProcessPhotoInput, 'source'>;

export interface CheckedRequest {
  chain: FilterStep[];
  targets: ShareTarget[];
  review?: { timeoutMs: number };
  intermediates: Intermediates;
}

export const MAX_TITLE_CHARS = 200;

/**
 * The checks the workflow makes before its first activity, in one place so clients (the web pages, the JSON API)
 * refuse the same requests with the same messages before anything is stored or started.
 */
export function validatePhotoRequest(input: PhotoRequest): CheckedRequest {
  const chain = validateChain(input.filters ?? []);
  const targets = input.share ?? [];
  if (!Array.isArray(targets)) throw invalidInput(`expected share to be an array, received ${JSON.stringify(targets)}`);
  for (const target of targets) {
    if (!SHARE_TARGETS.includes(target)) {
      throw invalidInput(`unknown share target ${JSON.stringify(target)}; expected one of ${SHARE_TARGETS.join(', ')}`);
    }
  }
  if (input.title !== undefined && (typeof input.title !== 'string' || input.title.length > MAX_TITLE_CHARS)) {
    throw invalidInput(
      `expected title to be a string of at most ${MAX_TITLE_CHARS} characters, received ${JSON.stringify(input.title)}`,
    );
  }
  if (input.fuse !== undefined && typeof input.fuse !== 'boolean') {
    throw invalidInput(`expected fuse to be true or false, received ${JSON.stringify(input.fuse)}`);
  }
  const intermediates = input.intermediates ?? 'store';
  if (!INTERMEDIATES.includes(intermediates)) {
    throw invalidInput(
      `expected intermediates to be ${INTERMEDIATES.map((i) => JSON.stringify(i)).join(' or ')}, received ${JSON.stringify(input.intermediates)}`,
    );
  }
  const review = parseReviewRequest(input.review);
  return { chain, targets: [...new Set(targets)], intermediates, ...(review ? { review } : {}) };
}
