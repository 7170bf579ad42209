import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { it } from 'node:test';
import { promisify } from 'node:util';
import { projectRoot } from '../src/lib/project-root';

// A 6000 x 4000 progressive JPEG's decoder holds every DCT coefficient: 24 megapixels at 4:2:0, about 72 MB. With
// libvips' operation cache on, the finished load stayed open in the cache with them (75 MB more resident memory
// after the upload than before it, measured); the image services keep nothing of an image once its activity is done.
it('an upload keeps nothing of a progressive JPEG decoder once it is done', async () => {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', 'test/support/print-upload-memory.ts'],
    { cwd: projectRoot },
  );
  const { small, large } = JSON.parse(stdout) as { small: number; large: number };
  assert.ok(large - small < 30, `resident memory after the large upload ${large} MB, after the small one ${small} MB`);
});
