import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runLabels, startAttributes } from '../src/common/run-labels';
import { PHOTO_FILTERS, PHOTO_SHARE_TARGETS, PHOTO_STEP } from '../src/common/search-attributes';
import type { ProcessPhotoInput } from '../src/common/workflow-io';

describe('run labels (the memo and search attributes a run starts with)', () => {
  it('titles a run by its input, else by the last part of its source', () => {
    const input: ProcessPhotoInput = {
      source: { url: 'https://example.com/trips/beach.jpg' },
      filters: [{ filter: 'resize', params: { width: 640 } }, { filter: 'sepia' }],
      share: ['gallery', 'webhook', 'gallery'],
    };
    const labels = runLabels(input);
    assert.deepEqual(labels?.memo, { source: 'https://example.com/trips/beach.jpg', title: 'beach.jpg' });
    assert.deepEqual(startAttributes(labels!), [
      { key: PHOTO_FILTERS, value: ['resize', 'sepia'] },
      { key: PHOTO_SHARE_TARGETS, value: ['gallery', 'webhook'] },
      { key: PHOTO_STEP, value: 'upload' },
    ]);
    assert.equal(runLabels({ ...input, title: 'Holiday' })?.memo.title, 'Holiday');
    assert.deepEqual(runLabels({ source: { blob: 'ab.jpg' } })?.attributes, [
      { key: PHOTO_FILTERS, value: [] },
      { key: PHOTO_SHARE_TARGETS, value: [] },
    ]);
  });

  it('has none for input too malformed to label: the workflow refuses it with its own error', () => {
    const malformed = [
      undefined,
      {},
      { source: { path: 42 } },
      { source: { path: 'a.jpg' }, filters: 'sepia' },
      { source: { path: 'a.jpg' }, filters: [null] },
      { source: { path: 'a.jpg' }, filters: [{ filter: 7 }] },
      { source: { path: 'a.jpg' }, share: 'gallery' },
      { source: { path: 'a.jpg' }, share: [1] },
      { source: { path: 'a.jpg' }, title: ['x'] },
    ];
    for (const input of malformed) {
      assert.equal(runLabels(input as unknown as ProcessPhotoInput), undefined, JSON.stringify(input));
    }
  });
});
