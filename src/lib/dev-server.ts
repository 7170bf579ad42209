import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { PHOTO_SEARCH_ATTRIBUTES } from '../common/search-attributes';
import { startChild, waitUntilReady, type Child } from './child-processes';
import { serverAnswers } from './connection';
import { provisionTemporalCli } from '../provision/temporal-cli';

export interface DevServerOptions {
  ip?: string;
  port: number;
  /** The Web UI's port; `false` runs headless. */
  uiPort: number | false;
  /** SQLite file that keeps runs across restarts; in memory when absent. */
  dbFile?: string;
  namespace?: string;
  /** Where the server's own output goes; inherited when absent. */
  logFile?: number;
  /** A codec server the Web UI decodes payloads with (`npm run codec-server`), when payloads are encrypted. */
  uiCodecEndpoint?: string;
}

export interface DevServer {
  address: string;
  uiUrl?: string;
  /** The server process, stopped by its process id. */
  child: Child;
}

/**
 * WAL with synchronous=NORMAL keeps every committed run across a crash of the server process while syncing far less
 * often than SQLite's default (about ten times the throughput on the dev server's single connection).
 */
const SQLITE_PRAGMAS = ['journal_mode=WAL', 'synchronous=NORMAL'];

/**
 * The dev server has a single history shard, and a shard reads its transfer tasks (the ones that hand a workflow or
 * activity task to matching) at most 20 times a second by default (history.transferProcessorMaxPollRPS). Production
 * clusters spread this over hundreds of shards. Lifting the limit for the one shard, measured with `npm run bench`:
 * with an earlier server every hand-off waited for the next 50 ms tick, and the hop (p50, one run in flight) fell from
 * about 95 ms to about 10 ms, the no-op processPhoto ceiling from about 7 to 13-17 pipelines/s. Today's server lets a
 * lone hand-off through at once, but under load they wait for the limit: at 8 photos in flight the hop was 23-34 ms
 * at 20 against 20-24 ms lifted, for no less server CPU (BENCHMARKS.md, thirteenth pass). (synchronous=OFF and an
 * in-memory database measured no better than the pragmas above.)
 */
const DYNAMIC_CONFIG = ['history.transferProcessorMaxPollRPS=10000'];

/** The CLI's `server start-dev` arguments for these options, with the project's search attributes registered. */
export function devServerArgs(o: DevServerOptions): string[] {
  const ip = o.ip ?? '127.0.0.1';
  const args = ['server', 'start-dev', '--ip', ip, '--port', String(o.port), '--namespace', o.namespace ?? 'default'];
  args.push('--log-level', 'error');
  if (o.uiPort === false) args.push('--headless');
  else args.push('--ui-ip', ip, '--ui-port', String(o.uiPort));
  if (o.uiPort !== false && o.uiCodecEndpoint) args.push('--ui-codec-endpoint', o.uiCodecEndpoint);
  if (o.dbFile) {
    args.push('--db-filename', o.dbFile);
    for (const pragma of SQLITE_PRAGMAS) args.push('--sqlite-pragma', pragma);
  }
  for (const value of DYNAMIC_CONFIG) args.push('--dynamic-config-value', value);
  for (const definition of cliSearchAttributes()) args.push('--search-attribute', definition);
  return args;
}

/** The CLI's names for the SDK's search attribute types. */
const CLI_TYPES: Record<string, string> = {
  KEYWORD: 'Keyword',
  KEYWORD_LIST: 'KeywordList',
  TEXT: 'Text',
  INT: 'Int',
  DOUBLE: 'Double',
  BOOL: 'Bool',
  DATETIME: 'Datetime',
};

/**
 * The project's search attributes as the Temporal CLI registers them (`PhotoSha256=Keyword`): the dev server's
 * `--search-attribute` values, and what the Compose setup script must list.
 */
export function cliSearchAttributes(): string[] {
  return PHOTO_SEARCH_ATTRIBUTES.map((key) => `${key.name}=${CLI_TYPES[key.type] ?? key.type}`);
}

/** Starts `temporal server start-dev` and waits until its frontend answers. */
export async function startDevServer(options: DevServerOptions, cli?: string): Promise<DevServer> {
  const executable = cli ?? (await provisionTemporalCli());
  if (options.dbFile) mkdirSync(path.dirname(options.dbFile), { recursive: true });
  const address = `${options.ip ?? '127.0.0.1'}:${options.port}`;
  const child = startChild({
    name: 'the Temporal dev server',
    command: executable,
    args: devServerArgs(options),
    // The server would otherwise ask a version-check host on the internet at start.
    env: { ...process.env, TEMPORAL_VERSION_CHECK_DISABLED: '1' },
    output: options.logFile ?? 'inherit',
  });
  await waitUntilReady(child, `waiting for it to answer on ${address}`, () => serverAnswers(address));
  const uiUrl = options.uiPort === false ? undefined : `http://${options.ip ?? '127.0.0.1'}:${options.uiPort}`;
  return { address, uiUrl, child };
}
