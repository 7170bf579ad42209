import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AtpAgent } from '@atproto/api';
import { startChild, waitForOutput } from './child-processes';
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
  const child = startChild({
    name: 'the local Bluesky network',
    command: install.node,
    args: [install.serverScript, JSON.stringify(options)],
    stopGraceMs: 10_000,
  });
  const stop = async () => {
    await child.stop();
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    await waitForOutput(child, /"pds"/, { timeoutMs: READY_TIMEOUT_MS });
  } catch (err) {
    await stop();
    throw new Error(`the local Bluesky network did not start: ${(err as Error).message}`, { cause: err });
  }
  const service = `http://127.0.0.1:${pdsPort}`;

  return {
    service,
    pid: child.pid,
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
