import { spawnSync } from 'node:child_process';
import { paths } from '../lib/paths';
import { findOnPath, fromEnv, isExecutable, say } from './executables';
import { goInstall } from './go-install';
import { sdkDownloadedServer } from './sdk-download';

/**
 * v1.5.1 is the newest CLI that `go install` can build from the module proxy: later tags replace a sibling module
 * (cliext) by a local path, which `go install pkg@version` refuses. It needs Go 1.25+.
 */
export const CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal';
export const CLI_VERSION = 'v1.5.1';
const MIN_GO_MINOR = 25;

/**
 * Finds a Temporal CLI, provisioning one if needed: $TEMPORAL_CLI_PATH, `temporal` on PATH, the one provisioned
 * before in the project's state folder, the SDK's cached download, then a build from the Go module proxy.
 */
export async function provisionTemporalCli(): Promise<string> {
  const found = fromEnv('TEMPORAL_CLI_PATH') ?? findOnPath('temporal');
  if (found) return found;
  if (isExecutable(paths.cliBinary)) return paths.cliBinary;
  const downloaded = await sdkDownloadedServer('dev-server');
  if (downloaded) return downloaded;
  const go = findOnPath('go');
  if (go && goIsRecentEnough(go)) return buildCli(go);
  throw new Error(
    'No Temporal CLI found and none could be provisioned. Do one of: install the Temporal CLI ' +
      `(https://docs.temporal.io/cli) and put it on PATH; set TEMPORAL_CLI_PATH to its path; or install Go >= 1.${MIN_GO_MINOR} ` +
      `so this project can build ${CLI_MODULE}@${CLI_VERSION} from the Go module proxy.`,
  );
}

function goIsRecentEnough(go: string): boolean {
  const version = spawnSync(go, ['env', 'GOVERSION'], { encoding: 'utf8' }).stdout.trim();
  const match = /^go1\.(\d+)/.exec(version);
  if (match && Number(match[1]) >= MIN_GO_MINOR) return true;
  say(`Found ${version || 'an unknown Go'}, but building the Temporal CLI needs Go >= 1.${MIN_GO_MINOR}.`);
  return false;
}

async function buildCli(go: string): Promise<string> {
  await goInstall({
    what: `the Temporal CLI ${CLI_VERSION}`,
    go,
    packages: [`${CLI_MODULE}@${CLI_VERSION}`],
    binDir: paths.cliBinDir,
  });
  return paths.cliBinary;
}
