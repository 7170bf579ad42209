import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { ServerPorts } from './server-env';

export interface ClusterPorts extends ServerPorts {
  postgres: number;
  ui: number;
}

/**
 * The server records its members' ports in PostgreSQL as smallint (cluster_membership): a port above 32767, as the
 * kernel hands out for port 0, makes it fail at start ("out of range for type smallint"). So pick free ports below.
 */
export async function freeLowPort(taken: Set<number> = new Set()): Promise<number> {
  for (;;) {
    const port = 10_000 + Math.floor(Math.random() * (32_767 - 10_000));
    if (!taken.has(port) && (await isFree(port))) return port;
  }
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * Ports given now win; then the ones this data folder used last time, if still free; then fresh ones. Keeping them
 * matters: the server records its members' addresses in the database, and a restart on new ports leaves stale
 * members behind that it keeps trying until their heartbeats expire.
 */
export async function pickPorts(dir: string, given: Partial<ClusterPorts> = {}): Promise<ClusterPorts> {
  const file = path.join(dir, 'ports.json');
  const saved = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Partial<ClusterPorts>) : {};
  const ports = await choosePorts(given, saved);
  writeFileSync(file, `${JSON.stringify(ports, null, 2)}\n`);
  return ports;
}

async function choosePorts(given: Partial<ClusterPorts>, saved: Partial<ClusterPorts>): Promise<ClusterPorts> {
  const names: (keyof ClusterPorts)[] = [
    'postgres',
    'frontend',
    'frontendHttp',
    'frontendMembership',
    'history',
    'historyMembership',
    'matching',
    'matchingMembership',
    'worker',
    'workerMembership',
    'metrics',
    'ui',
  ];
  const ports: Partial<ClusterPorts> = {};
  const taken = new Set(Object.values(given));
  for (const name of names) {
    const previous = saved[name];
    const reuse = previous !== undefined && !taken.has(previous) && (await isFree(previous)) ? previous : undefined;
    const port = given[name] ?? reuse ?? (await freeLowPort(taken));
    taken.add(port);
    ports[name] = port;
  }
  return ports as ClusterPorts;
}
