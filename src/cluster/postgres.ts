import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { say } from '../provision/executables';
import { waitUntilReady, type Child } from '../lib/child-processes';
import { startClusterProcess } from './cluster-process';

export interface PostgresSetup {
  binDir: string;
  /** Holds data/ (the cluster), the password and the log. */
  dir: string;
  port: number;
  /** The superuser initdb creates: the role Temporal connects as (POSTGRES_USER in docker/temporal-server.env). */
  superuser: string;
}

export interface Postgres {
  port: number;
  password: string;
  process: Child;
}

/**
 * PostgreSQL refuses to run as root: as root, the data folder belongs to, and the server runs as, the Debian
 * package's unprivileged `postgres` user. Started by anyone else, it runs as that user.
 */
function serviceUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

function ownedFolder(dir: string, user: { uid: number; gid: number } | undefined): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (user) chownSync(dir, user.uid, user.gid);
}

/** Creates the database cluster once (password auth over TCP); later starts reuse it. */
function initOnce(o: PostgresSetup, user: ReturnType<typeof serviceUser>): string {
  const data = path.join(o.dir, 'data');
  const passwordFile = path.join(o.dir, 'password');
  if (existsSync(path.join(data, 'PG_VERSION'))) return readFileSync(passwordFile, 'utf8').trim();
  mkdirSync(o.dir, { recursive: true });
  // The service user must be able to reach its folders inside ours.
  chmodSync(o.dir, 0o755);
  const password = randomBytes(18).toString('base64url');
  writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
  const pwfile = path.join(o.dir, 'initdb-password');
  writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
  if (user) chownSync(pwfile, user.uid, user.gid);
  ownedFolder(data, user);
  say(`Creating a PostgreSQL database cluster in ${data}.`);
  const args = [
    '-D',
    data,
    '-U',
    o.superuser,
    '--auth=scram-sha-256',
    `--pwfile=${pwfile}`,
    '-E',
    'UTF8',
    '--locale=C.UTF-8',
  ];
  const result = spawnSync(path.join(o.binDir, 'initdb'), args, { encoding: 'utf8', ...(user ?? {}) });
  rmSync(pwfile, { force: true });
  if (result.status !== 0) {
    rmSync(data, { recursive: true, force: true });
    throw new Error(`initdb failed (exit ${result.status}): ${result.stderr || result.error?.message}`);
  }
  return password;
}

/** pg_isready: true once the server accepts sessions (not while it is still recovering from a crash). */
function ready(binDir: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    execFile(path.join(binDir, 'pg_isready'), ['-q', '-h', '127.0.0.1', '-p', String(port)], (err) => resolve(!err));
  });
}

/**
 * Starts the postmaster itself (not through pg_ctl, which detaches it), so the returned process id is the
 * postmaster's: SIGTERM is PostgreSQL's "smart" shutdown, SIGINT its fast one, SIGKILL a crash (recovered from the
 * write-ahead log on the next start). Listens on 127.0.0.1 only; its socket lives in the cluster's own folder.
 */
export async function startPostgres(o: PostgresSetup): Promise<Postgres> {
  const user = serviceUser();
  const password = initOnce(o, user);
  const sockets = path.join(o.dir, 'sockets');
  ownedFolder(sockets, user);
  const proc = startClusterProcess({
    name: 'PostgreSQL',
    command: path.join(o.binDir, 'postgres'),
    args: ['-D', path.join(o.dir, 'data'), '-p', String(o.port), '-c', 'listen_addresses=127.0.0.1'].concat([
      '-c',
      `unix_socket_directories=${sockets}`,
    ]),
    logFile: path.join(o.dir, 'postgres.log'),
    user,
  });
  await waitUntilReady(proc, `waiting for PostgreSQL to accept connections on 127.0.0.1:${o.port}`, () =>
    ready(o.binDir, o.port),
  );
  return { port: o.port, password, process: proc };
}
