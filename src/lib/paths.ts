import path from 'node:path';

/** The project's root folder, wherever the process was started from. */
export const projectRoot = path.resolve(__dirname, '..', '..');

/** Git-ignored folder for everything the project provisions or persists locally. */
export const stateDir = process.env.NANO_PHOTOS_STATE_DIR ?? path.join(projectRoot, '.temporal');

export const paths = {
  cliBinDir: path.join(stateDir, 'bin'),
  cliBinary: path.join(stateDir, 'bin', 'temporal'),
  sdkDownloadDir: path.join(stateDir, 'sdk-download'),
  testServerDir: path.join(stateDir, 'test-server'),
  devServerDb: path.join(stateDir, 'dev-server.db'),
};

/** The workflow bundle's entry point. */
export const workflowsPath = path.join(projectRoot, 'workflows', 'index.ts');
