import { spawnSync } from 'node:child_process';
import { paths } from '../lib/paths';
import { findOnPath, fromEnv, isExecutable, say } from './executables';
import { goInstall } from './go-install';

/**
 * versitygw (Apache-2.0) serves a folder as an S3-compatible service: the real S3 server for local runs and tests.
 * v1.8.0 builds with Go 1.25+ from the module proxy in about 80 s the first time.
 */
export const VERSITYGW_MODULE = 'github.com/versity/versitygw/cmd/versitygw';
export const VERSITYGW_VERSION = 'v1.8.0';
const MIN_GO_MINOR = 25;

/** $VERSITYGW_PATH, the one built before in the project's state folder, else a build from the Go module proxy. */
export async function provisionVersitygw(): Promise<string> {
  const found = fromEnv('VERSITYGW_PATH');
  if (found) return found;
  if (isExecutable(paths.versitygwBinary)) return paths.versitygwBinary;
  const go = findOnPath('go');
  const version = go ? spawnSync(go, ['env', 'GOVERSION'], { encoding: 'utf8' }).stdout.trim() : '';
  const minor = Number(/^go1\.(\d+)/.exec(version)?.[1] ?? 0);
  if (!go || minor < MIN_GO_MINOR) {
    throw new Error(
      `No S3 server (versitygw) found and none could be built${go ? ` (found ${version || 'an unknown Go'})` : ''}: ` +
        `install Go >= 1.${MIN_GO_MINOR} so this project can build ${VERSITYGW_MODULE}@${VERSITYGW_VERSION} from ` +
        'the Go module proxy, or set VERSITYGW_PATH to a versitygw executable.',
    );
  }
  say(`The S3 server versitygw ${VERSITYGW_VERSION} is not built yet.`);
  await goInstall({
    what: `versitygw ${VERSITYGW_VERSION}`,
    go,
    packages: [`${VERSITYGW_MODULE}@${VERSITYGW_VERSION}`],
    binDir: paths.versitygwDir,
  });
  return paths.versitygwBinary;
}
