// Workflow-safe core: every edit here is a workflow change, covered by the replay test (test/replay.test.ts).
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** Custom search attributes that make photo runs findable in the Web UI, e.g. `PhotoFilters = "sepia"`. */
export const PHOTO_SHA256 = defineSearchAttributeKey('PhotoSha256', SearchAttributeType.KEYWORD);
export const PHOTO_FILTERS = defineSearchAttributeKey('PhotoFilters', SearchAttributeType.KEYWORD_LIST);
export const PHOTO_SHARE_TARGETS = defineSearchAttributeKey('PhotoShareTargets', SearchAttributeType.KEYWORD_LIST);
export const PHOTO_STEP = defineSearchAttributeKey('PhotoStep', SearchAttributeType.KEYWORD);

export const PHOTO_SEARCH_ATTRIBUTES = [PHOTO_SHA256, PHOTO_FILTERS, PHOTO_SHARE_TARGETS, PHOTO_STEP];
