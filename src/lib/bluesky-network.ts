import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AtpAgent } from '@atproto/api';
import type { BlueskySettings } from './config';
import { freePort } from './free-port';
import { provisionBlueskyNetwork } from '../provision/bluesky-network';

/**
 * A real, local Bluesky network for tests and fixture recording: the reference PDS and a PLC directory in one
 * Node 24 process on free loopback ports, with its data in a temp folder. `stop()` ends that process by its pid and
 * removes the folder.
 */
export interface BlueskyNetwork {
  /** The PDS, as workers reach it (NANO_PHOTOS_BLUESKY_SERVICE). */
  service: string;
  pid: number;
  /** A new account with an app password, as a person would set one up; `agent` is signed in with its password. */
  createAccount(name: string): Promise<BlueskyAccount>;
  stop(): Promise<void>;
}

export interface BlueskyAccount {
  did: string;
  handle: string;
  /** What the share worker gets: the PDS, the handle and an app password. */
  settings: BlueskySettings;
  agent: AtpAgent;
}

const READY_TIMEOUT_MS = 60_000;

export async function startBlueskyNetwork(): Promise<BlueskyNetwork> {
  const install = await provisionBlueskyNetwork();
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'nano-photos-bluesky-'));
  const [plcPort, pdsPort] = [await freePort(), await freePort()];
  const options = { modulesDir: install.modulesDir, dataDir, plcPort, pdsPort };
  const child = spawn(install.node, [install.serverScript, JSON.stringify(options)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  let output = '';
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      process.kill(child.pid!, 'SIGTERM');
      const timer = setTimeout(() => child.exitCode === null && process.kill(child.pid!, 'SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    await new Promise<void>((resolve, reject) => {
      setTimeout(() => reject(new Error(`no ready line within ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS).unref();
      child.stderr!.on('data', (chunk: Buffer) => (output = (output + chunk.toString('utf8')).slice(-20_000)));
      child.stdout!.on('data', (chunk: Buffer) => {
        output += chunk.toString('utf8');
        if (output.includes('"pds"')) resolve();
      });
      child.on('exit', (code, signal) => reject(new Error(`exited (${code ?? signal})`)));
      child.on('error', reject);
    }).finally(() => child.stdout!.removeAllListeners('data'));
  } catch (err) {
    await stop();
    throw new Error(`the local Bluesky network did not start: ${(err as Error).message}\n${output}`, { cause: err });
  }
  // Its stdout is not read any further; keep the pipes from filling up.
  child.stdout!.resume();
  const service = `http://127.0.0.1:${pdsPort}`;

  return {
    service,
    pid: child.pid!,
    stop,
    async createAccount(name) {
      const { AtpAgent } = await import('@atproto/api');
      const agent = new AtpAgent({ service });
      const handle = `${name}.test`;
      const password = `${name}-password-${Date.now()}`;
      const { data } = await agent.createAccount({ handle, email: `${name}@example.test`, password });
      const { data: app } = await agent.com.atproto.server.createAppPassword({ name: 'nano-photos' });
      return { did: data.did, handle, agent, settings: { service, handle, appPassword: app.password } };
    },
  };
}
