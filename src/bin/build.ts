import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { builtStamp, distDir, prebuiltWorkflowBundle, workflowsPath } from '../lib/paths';
import { projectRoot } from '../lib/project-root';

/**
 * `npm run build`: the project as JavaScript in dist/ (tsconfig.build.json) and the workflow bundle the workflow
 * worker would otherwise build with webpack at every start. src/bin/run-node.sh runs these while they are newer
 * than every source; the stamp carries the build's start time, so an edit made meanwhile counts as newer.
 */
async function main(): Promise<void> {
  const started = new Date();
  rmSync(distDir, { recursive: true, force: true });
  const tsc = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json'], {
    cwd: projectRoot,
    stdio: 'inherit',
  });
  if (tsc.status !== 0) throw new Error(`tsc -p tsconfig.build.json failed (exit ${tsc.status ?? tsc.signal})`);
  const { code } = await bundleWorkflowCode({ workflowsPath, logger: new DefaultLogger('WARN') });
  mkdirSync(path.dirname(prebuiltWorkflowBundle), { recursive: true });
  writeFileSync(prebuiltWorkflowBundle, code);
  writeFileSync(builtStamp, `${started.toISOString()}\n`);
  utimesSync(builtStamp, started, started);
  console.log(
    `build: ${path.relative(projectRoot, distDir)}/ and ${path.relative(projectRoot, prebuiltWorkflowBundle)}`,
  );
}

main().catch((err) => {
  console.error(`build: ${(err as Error).message}`);
  process.exit(1);
});
