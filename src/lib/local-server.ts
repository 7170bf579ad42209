import { parseArgs } from 'node:util';
import { serverAnswers } from './connection';
import { startDevServer, type DevServer } from './dev-server';
import { parsePort, type LocalServerSettings } from './config';

/** `npm run server`'s flags and the reuse-or-start logic that `npm run demo` shares. */
export interface ServerFlags {
  ip: string;
  port: number;
  uiPort: number;
  dbFile?: string;
  uiCodecEndpoint?: string;
}

/** Flags override the settings from the environment. */
export function parseServerFlags(argv: string[], defaults: LocalServerSettings): ServerFlags | 'help' {
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
    ip: values.ip ?? defaults.ip,
    port: values.port === undefined ? defaults.port : parsePort('--port', values.port),
    uiPort: values['ui-port'] === undefined ? defaults.uiPort : parsePort('--ui-port', values['ui-port']),
    dbFile: values['in-memory'] ? undefined : (values.db ?? defaults.dbFile),
    uiCodecEndpoint: defaults.uiCodecEndpoint,
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
    uiCodecEndpoint: flags.uiCodecEndpoint,
  });
  return { address, uiUrl, server };
}
