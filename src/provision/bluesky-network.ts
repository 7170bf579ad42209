import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { paths } from '../lib/paths';
import { projectRoot } from '../lib/project-root';
import { say } from './executables';
import { NODE24_VERSION, provisionNode24, type NodeInstall } from './node24';

/**
 * A local Bluesky network for tests: Bluesky's reference PDS and PLC directory from the npm registry, installed
 * with Node 24's npm into the state folder from the package.json and lock in src/provision/bluesky-network/ (so every
 * machine gets the same ~600 packages). better-sqlite3 is pinned to 13.x (N-API prebuilds): 12.x, which the PDS asks for, aborts Node 24 when a statement is garbage-collected (RemoveEnvironmentCleanupHook, env == nullptr).
 */
const SOURCE = path.join(projectRoot, 'src', 'provision', 'bluesky-network');
const dir = paths.blueskyNetworkDir;
const marker = path.join(dir, 'installed.json');

export interface BlueskyNetworkInstall {
  /** Runs the servers: Node >= 22. */
  node: string;
  /** Where @atproto/pds and @did-plc/server resolve from. */
  modulesDir: string;
  /** The server script (bluesky-network-server.mts), run as `node <script> <options JSON>`. */
  serverScript: string;
}

/** What the installed folder was made from: a different lock or Node (native addon ABI) means install again. */
function fingerprint(node: NodeInstall): string {
  const lock = createHash('sha256')
    .update(readFileSync(path.join(SOURCE, 'package-lock.json')))
    .digest('hex');
  return JSON.stringify({ lock, node: NODE24_VERSION, nodedir: node.nodedir });
}

export async function provisionBlueskyNetwork(): Promise<BlueskyNetworkInstall> {
  const node = await provisionNode24();
  const install = {
    node: node.node,
    modulesDir: dir,
    serverScript: path.join(projectRoot, 'src', 'provision', 'bluesky-network-server.mts'),
  };
  if (existsSync(marker) && readFileSync(marker, 'utf8') === fingerprint(node)) return install;

  say(`Installing Bluesky's PDS and PLC directory from the npm registry into ${dir} (about 400 MB, a few minutes)...`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const file of ['package.json', 'package-lock.json']) copyFileSync(path.join(SOURCE, file), path.join(dir, file));
  const log = path.join(dir, 'install.log');
  const started = Date.now();
  const ticker = setInterval(() => say(`...still installing (${Math.round((Date.now() - started) / 1000)} s)`), 30_000);
  try {
    await new Promise<void>((resolve, reject) => {
      const child = spawn(node.node, [node.npmCli, 'ci', '--no-audit', '--no-fund'], {
        cwd: dir,
        // node-gyp must build for this Node: its own binary first on PATH, its own headers.
        env: {
          ...process.env,
          PATH: `${path.dirname(node.node)}${path.delimiter}${process.env.PATH ?? ''}`,
          npm_config_nodedir: node.nodedir,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      const keep = (chunk: Buffer) => (output = (output + chunk.toString('utf8')).slice(-200_000));
      child.stdout!.on('data', keep);
      child.stderr!.on('data', keep);
      child.on('error', reject);
      child.on('exit', (code) => {
        writeFileSync(log, output);
        // npm's output is shown only when it fails.
        if (code === 0) return resolve();
        process.stderr.write(output.slice(-5000));
        reject(new Error(`npm ci for the Bluesky network exited with code ${code} (full output: ${log})`));
      });
    });
  } finally {
    clearInterval(ticker);
  }
  writeFileSync(marker, fingerprint(node));
  say(`Bluesky network ready in ${Math.round((Date.now() - started) / 1000)} s: ${dir}`);
  return install;
}
