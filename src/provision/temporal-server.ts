import { existsSync } from 'node:fs';
import path from 'node:path';
import { stateDir } from '../lib/paths';
import { findOnPath, isExecutable } from './executables';
import { goInstall } from './go-install';

/** The Temporal server docker-compose.yml runs as an image; built natively for `npm run cluster`. */
export const SERVER_MODULE = 'go.temporal.io/server';
export const SERVER_VERSION = 'v1.32.2';
/** v1.32.2 asks for Go >= 1.26.10; the module proxy serves this toolchain, so the machine's older Go fetches it. */
const SERVER_TOOLCHAIN = 'go1.27.3';
/** The Web UI the CLI's dev server embeds; newer tags have dependencies the proxy does not serve. */
export const UI_SERVER_MODULE = 'github.com/temporalio/ui-server/v2';
export const UI_SERVER_VERSION = 'v2.42.1';
/** PostgreSQL from Debian (`apt-get install postgresql`). */
export const POSTGRES_BIN_DIR = process.env.NANO_PHOTOS_POSTGRES_BIN ?? '/usr/lib/postgresql/15/bin';

const binRoot = path.join(stateDir, 'cluster-bin');
const serverBinDir = path.join(binRoot, `temporal-${SERVER_VERSION}`);
const uiBinDir = path.join(binRoot, `ui-server-${UI_SERVER_VERSION}`);

export interface ClusterBinaries {
  /** `server start` runs frontend, history, matching and worker in one process. */
  server: string;
  /** The schema tool (`temporal-sql-tool` in the admin-tools image). */
  sqlTool: string;
  uiServer: string;
  /** initdb, postgres, pg_ctl. */
  postgresBinDir: string;
  /** The Temporal CLI, for the setup script (namespace, search attributes). */
  cli: string;
}

function requireGo(): string {
  const go = findOnPath('go');
  if (!go) throw new Error('Building the Temporal server needs Go (any recent version) on PATH: install Go.');
  return go;
}

/** The server and its schema tool, from one `go install` so both are the same version. Built once, then cached. */
export async function provisionTemporalServer(): Promise<{ server: string; sqlTool: string }> {
  const server = path.join(serverBinDir, 'server');
  const sqlTool = path.join(serverBinDir, 'sql');
  if (!isExecutable(server) || !isExecutable(sqlTool)) {
    await goInstall({
      what: `the Temporal server and its SQL schema tool ${SERVER_VERSION} (about 6 minutes on 2 cores)`,
      go: requireGo(),
      packages: [`${SERVER_MODULE}/cmd/server@${SERVER_VERSION}`, `${SERVER_MODULE}/cmd/tools/sql@${SERVER_VERSION}`],
      binDir: serverBinDir,
      env: { GOTOOLCHAIN: SERVER_TOOLCHAIN },
    });
  }
  return { server, sqlTool };
}

export async function provisionUiServer(): Promise<string> {
  const uiServer = path.join(uiBinDir, 'server');
  if (!isExecutable(uiServer)) {
    await goInstall({
      what: `the Temporal Web UI server ${UI_SERVER_VERSION}`,
      go: requireGo(),
      packages: [`${UI_SERVER_MODULE}/cmd/server@${UI_SERVER_VERSION}`],
      binDir: uiBinDir,
    });
  }
  return uiServer;
}

export function postgresBinDir(): string {
  if (!existsSync(path.join(POSTGRES_BIN_DIR, 'postgres'))) {
    throw new Error(
      `PostgreSQL server binaries not found in ${POSTGRES_BIN_DIR}: install them (Debian: apt-get install -y postgresql) ` +
        'or set NANO_PHOTOS_POSTGRES_BIN to the folder holding initdb and postgres.',
    );
  }
  return POSTGRES_BIN_DIR;
}

/** Everything `npm run cluster` runs, provisioned (built once) where needed. */
export async function provisionCluster(cli: () => Promise<string>): Promise<ClusterBinaries> {
  const postgres = postgresBinDir();
  const { server, sqlTool } = await provisionTemporalServer();
  return { server, sqlTool, uiServer: await provisionUiServer(), postgresBinDir: postgres, cli: await cli() };
}
