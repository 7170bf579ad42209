import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { projectRoot } from '../src/lib/project-root';
import { workflowBundle } from './support/temporal';

/** The Temporal workflow SDK and every package it depends on, however deep: what workflow code may pull in. */
function sdkPackages(name = '@temporalio/workflow', found = new Set<string>()): Set<string> {
  if (found.has(name)) return found;
  found.add(name);
  const manifest = JSON.parse(readFileSync(path.join(projectRoot, 'node_modules', name, 'package.json'), 'utf8'));
  for (const dependency of Object.keys(manifest.dependencies ?? {})) sdkPackages(dependency, found);
  return found;
}

/** The project's modules and packages that the workflow bundle is made of, from the bundle's own source map. */
async function bundledFiles(): Promise<string[]> {
  const { code } = await workflowBundle();
  const inline = /sourceMappingURL=data:application\/json;[^,]*base64,(\S+)/.exec(code);
  assert.ok(inline, 'the bundle carries its source map');
  const sources: string[] = JSON.parse(Buffer.from(inline[1], 'base64').toString('utf8')).sources;
  // webpack names modules webpack://<name>/<path>; its runtime and the SDK's optional hooks ("ignored|…") have none.
  return sources
    .filter((source) => !source.includes('ignored|'))
    .map((source) => source.replace(/^webpack:\/\/[^/]*\//, ''))
    .filter((file) => !file.startsWith('webpack/'))
    .map((file) => path.relative(projectRoot, path.resolve(projectRoot, file)));
}

describe('the workflow bundle', () => {
  it('imports nothing but workflows/, src/common/ and the Temporal SDK with its dependencies', async () => {
    const packages = sdkPackages();
    const files = await bundledFiles();
    assert.ok(
      files.some((file) => file.startsWith('src/common/')),
      `the core is in the bundle: ${files.join(', ')}`,
    );
    const allowed = (file: string) => {
      if (file.startsWith('workflows/') || file.startsWith('src/common/')) return true;
      const parts = /^node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(file);
      return parts !== null && packages.has(parts[1]);
    };
    assert.deepEqual(
      files.filter((file) => !allowed(file)),
      [],
      'modules from outside the workflow-safe places',
    );
  });
});
