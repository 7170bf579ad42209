import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { say } from './executables';

export interface GoInstall {
  /** What is built, for progress lines. */
  what: string;
  go: string;
  /** `module/path@version` arguments for one `go install`. */
  packages: string[];
  /** GOBIN: the git-ignored folder the binaries land in. */
  binDir: string;
  /** Extra environment, e.g. GOTOOLCHAIN when the module needs a newer Go than the machine's. */
  env?: NodeJS.ProcessEnv;
}

/**
 * `go install` with progress lines every 30 s: first builds download a few GB of modules and take minutes, later
 * ones reuse Go's module and build caches.
 */
export async function goInstall(o: GoInstall): Promise<void> {
  mkdirSync(o.binDir, { recursive: true });
  say(`Building ${o.what} from the Go module proxy into ${o.binDir}.`);
  say("The first build downloads modules and takes several minutes; later builds reuse Go's caches.");
  const started = Date.now();
  const ticker = setInterval(() => say(`...still building (${Math.round((Date.now() - started) / 1000)} s)`), 30_000);
  try {
    await new Promise<void>((resolve, reject) => {
      const child = spawn(o.go, ['install', ...o.packages], {
        env: { ...process.env, CGO_ENABLED: '0', GOBIN: o.binDir, GOFLAGS: '-mod=mod', ...o.env },
        stdio: ['ignore', 'inherit', 'inherit'],
      });
      child.on('error', reject);
      child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`go install exited with code ${code}`))));
    });
  } finally {
    clearInterval(ticker);
  }
  say(`Built ${o.what} in ${Math.round((Date.now() - started) / 1000)} s.`);
}
