import { parseArgs } from 'node:util';
import { serverAnswers } from './connection';
import { startDevServer, type DevServer } from './dev-server';
import { paths } from './paths';

/** `npm run server`'s flags and the reuse-or-start logic that `npm run demo` shares. */
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
export async function ensureDevServer(
  flags: ServerFlags,
  logFile?: number,
): Promise<{ address: string; uiUrl: string; server?: DevServer }> {
  const address = `${flags.ip}:${flags.port}`;
  const uiUrl = `http://${flags.ip}:${flags.uiPort}`;
  if (await serverAnswers(address)) return { address, uiUrl };
  console.log(
    `Starting a Temporal dev server on ${address}${flags.dbFile ? `, database ${flags.dbFile}` : ' (in memory)'}...`,
  );
  const server = await startDevServer({
    ip: flags.ip,
    port: flags.port,
    uiPort: flags.uiPort,
    dbFile: flags.dbFile,
    logFile,
  });
  return { address, uiUrl, server };
}
