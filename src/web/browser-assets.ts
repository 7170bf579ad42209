import path from 'node:path';
import { build, type Plugin } from 'esbuild';
import { projectRoot } from '../lib/project-root';

// From the sources, also when this module runs compiled from dist/ (esbuild bundles the TypeScript itself).
const BROWSER_DIR = path.join(projectRoot, 'src', 'web', 'browser');
/** The pages' scripts, by the name they are served under (`/assets/<name>.js`). */
const ENTRIES = ['upload', 'run', 'album'] as const;

/**
 * The browser checks a request with the workflow's own code (src/common is pure TypeScript); of
 * @temporalio/common that code needs only ApplicationFailure, whose message is all a page shows. A small stand-in
 * keeps the SDK (about 80 KB minified) out of the pages; a new import from it fails this build loudly.
 */
const sdkStandIn: Plugin = {
  name: 'temporal-common-stand-in',
  setup(b) {
    b.onResolve({ filter: /^@temporalio\/common$/ }, () => ({
      path: path.join(BROWSER_DIR, 'application-failure.ts'),
    }));
  },
};

/**
 * Bundles the pages' scripts in memory when the server starts (esbuild takes well under a second), so what the
 * browser runs is always built from the code next to it and no build output needs to be kept anywhere.
 */
export async function bundleBrowserCode(): Promise<Map<string, string>> {
  const result = await build({
    entryPoints: Object.fromEntries(ENTRIES.map((name) => [name, path.join(BROWSER_DIR, `${name}.ts`)])),
    bundle: true,
    write: false,
    outdir: '/assets',
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    legalComments: 'none',
    logLevel: 'silent',
    plugins: [sdkStandIn],
  });
  return new Map(result.outputFiles.map((file) => [path.basename(file.path), file.text]));
}
