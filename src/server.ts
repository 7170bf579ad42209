import { parseArgs } from 'node:util';
import { serverAnswers } from './connection';
import { startDevServer, type DevServer } from './dev-server';
import { paths } from './paths';

const HELP = `Usage: npm run server -- [--ip 127.0.0.1] [--port 7233] [--ui-port 8233] [--db FILE | --in-memory]

Starts a local Temporal dev server (provisioning the Temporal CLI first if needed) with the Web UI, persisted to
a SQLite file so runs survive a restart, and the project's search attributes registered. Ctrl-C stops it.
If a server already answers on the port, it is reused and this command exits at once.

Options (environment variable in brackets):
  --ip ADDR        listen address (NANO_PHOTOS_SERVER_IP, default 127.0.0.1)
  --port N         frontend gRPC port (NANO_PHOTOS_SERVER_PORT, default 7233)
  --ui-port N      Web UI port (NANO_PHOTOS_UI_PORT, default 8233)
  --db FILE        database file (NANO_PHOTOS_SERVER_DB, default ${paths.devServerDb})
  --in-memory      keep nothing across restarts`;

function port(name: string, raw: string): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > 65535) {
    throw new Error(`${name}: expected a port between 1 and 65535, received ${JSON.stringify(raw)}`);
  }
  return value;
}

export interface ServerFlags {
  ip: string;
  port: number;
  uiPort: number;
  dbFile?: string;
}

export function parseServerFlags(argv: string[], env = process.env): ServerFlags | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      ip: { type: 'string' },
      port: { type: 'string' },
      'ui-port': { type: 'string' },
      db: { type: 'string' },
      'in-memory': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  return {
    ip: values.ip ?? env.NANO_PHOTOS_SERVER_IP ?? '127.0.0.1',
    port: port('--port', values.port ?? env.NANO_PHOTOS_SERVER_PORT ?? '7233'),
    uiPort: port('--ui-port', values['ui-port'] ?? env.NANO_PHOTOS_UI_PORT ?? '8233'),
    dbFile: values['in-memory'] ? undefined : (values.db ?? env.NANO_PHOTOS_SERVER_DB ?? paths.devServerDb),
  };
}

/** Reuses a server that already answers, or starts one; `undefined` server means reused. */
export async function ensureDevServer(flags: ServerFlags, logFile?: number): Promise<{ address: string; uiUrl: string; server?: DevServer }> {
  const address = `${flags.ip}:${flags.port}`;
  const uiUrl = `http://${flags.ip}:${flags.uiPort}`;
  if (await serverAnswers(address)) return { address, uiUrl };
  console.log(`Starting a Temporal dev server on ${address}${flags.dbFile ? `, database ${flags.dbFile}` : ' (in memory)'}...`);
  const server = await startDevServer({ ip: flags.ip, port: flags.port, uiPort: flags.uiPort, dbFile: flags.dbFile, logFile });
  return { address, uiUrl, server };
}

async function main(): Promise<void> {
  const flags = parseServerFlags(process.argv.slice(2));
  if (flags === 'help') {
    console.log(HELP);
    return;
  }
  const { address, uiUrl, server } = await ensureDevServer(flags);
  if (!server) {
    console.log(`A Temporal server already answers on ${address}: reusing it (Web UI, if it has one: ${uiUrl}).`);
    return;
  }
  console.log(`Temporal dev server ready on ${address}. Web UI: ${uiUrl}  (Ctrl-C stops it)`);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => void server.stop(signal));
  }
  await new Promise<void>((resolve) => server.process.on('exit', () => resolve()));
  console.log('Temporal dev server stopped.');
}

if (require.main === module) {
  main().catch((err) => {
    console.error(`server: ${(err as Error).message}`);
    process.exit(1);
  });
}
