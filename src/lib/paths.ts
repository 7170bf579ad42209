import path from 'node:path';
import { stateDirOf } from './config';
import { projectRoot } from './project-root';

/** Where provisioned servers and local state live: NANO_PHOTOS_STATE_DIR, else .temporal/ in the project. */
export const stateDir = stateDirOf();

export const paths = {
  cliBinDir: path.join(stateDir, 'bin'),
  cliBinary: path.join(stateDir, 'bin', 'temporal'),
  sdkDownloadDir: path.join(stateDir, 'sdk-download'),
  testServerDir: path.join(stateDir, 'test-server'),
  versitygwDir: path.join(stateDir, 'versitygw'),
  versitygwBinary: path.join(stateDir, 'versitygw', 'versitygw'),
  node24Dir: path.join(stateDir, 'node24'),
  blueskyNetworkDir: path.join(stateDir, 'bluesky'),
};

/** The workflow bundle's entry point. */
export const workflowsPath = path.join(projectRoot, 'workflows', 'index.ts');

/** `npm run build`'s output (src/bin/build.ts): compiled JavaScript, the prebuilt workflow bundle and its stamp. */
export const distDir = path.join(projectRoot, 'dist');
export const prebuiltWorkflowBundle = path.join(distDir, 'workflow-bundle.js');
export const builtStamp = path.join(distDir, '.built');
