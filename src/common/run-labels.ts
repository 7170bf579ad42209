// Workflow-safe core: every edit here is a workflow change, covered by the replay test (test/replay.test.ts).
import type { SearchAttributePair } from '@temporalio/common';
import { PHOTO_FILTERS, PHOTO_SHARE_TARGETS, PHOTO_STEP } from './search-attributes';
import type { ProcessPhotoInput } from './workflow-io';

/**
 * What names a photo run and makes it findable before it has done anything: the memo the Web UI and the photo site
 * show (the source and a title) and the search attributes it starts with. A client sends them with the start
 * request (src/lib/photo-runs.ts, and processAlbum for its photos), where they cost no history event; processPhoto
 * sets them itself when a run started without them (`temporal workflow start`).
 */
export interface RunLabels {
  memo: { source: string; title: string };
  /** PhotoFilters and PhotoShareTargets. */
  attributes: SearchAttributePair[];
}

/** The search attributes a run starts with: its labels' and PhotoStep `upload`. */
export function startAttributes(labels: RunLabels): SearchAttributePair[] {
  return [...labels.attributes, { key: PHOTO_STEP, value: 'upload' }];
}

/** The start options that carry a request's labels (none for a request too malformed to have any). */
export function labelledStart(input: ProcessPhotoInput): {
  memo?: RunLabels['memo'];
  typedSearchAttributes?: SearchAttributePair[];
} {
  const labels = runLabels(input);
  return labels ? { memo: labels.memo, typedSearchAttributes: startAttributes(labels) } : {};
}

/** A request's labels; undefined when it is too malformed to have any (processPhoto then refuses it). */
export function runLabels(input: ProcessPhotoInput): RunLabels | undefined {
  const source: unknown = Object.values(input?.source ?? {})[0];
  if (typeof source !== 'string') return undefined;
  // Anything not a list is a list with a hole, which the check below refuses.
  const list = (value: unknown): unknown[] => (value === undefined ? [] : Array.isArray(value) ? value : [undefined]);
  const names = list(input.filters).map((step) => (step as { filter?: unknown } | null)?.filter);
  const targets = list(input.share);
  const strings = (values: unknown[]): values is string[] => values.every((v) => typeof v === 'string');
  if (!strings(names) || !strings(targets) || !strings([input.title ?? ''])) return undefined;
  const title = input.title ?? source.split('/').filter(Boolean).at(-1) ?? 'photo';
  return {
    memo: { source, title },
    attributes: [
      { key: PHOTO_FILTERS, value: names },
      { key: PHOTO_SHARE_TARGETS, value: [...new Set(targets)] },
    ],
  };
}
