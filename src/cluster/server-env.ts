import { readFileSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../lib/project-root';

/** The one place server settings live, shared with docker-compose.yml (env_file). */
export const SERVER_ENV_FILE = path.join(projectRoot, 'docker', 'temporal-server.env');
/** Dynamic config, shared with docker-compose.yml (mounted into the server container). */
export const DYNAMIC_CONFIG_FILE = path.join(projectRoot, 'docker', 'dynamicconfig', 'development-sql.yaml');
/** Creates both databases and migrates their schemas; docker-compose.yml's temporal-schema service runs it too. */
export const SCHEMA_SCRIPT = path.join(projectRoot, 'docker', 'temporal-schema.sh');
/** Namespace and search attributes; docker-compose.yml's temporal-setup service runs it too. */
export const SETUP_SCRIPT = path.join(projectRoot, 'docker', 'temporal-setup.sh');

/** KEY=VALUE lines as Compose reads an env_file: `#` comments and blank lines skipped, no quoting. */
export function parseEnvFile(text: string): Record<string, string> {
  const entries: [string, string][] = [];
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (!trimmed || trimmed.startsWith('#')) continue;
    const eq = trimmed.indexOf('=');
    if (eq <= 0) throw new Error(`${SERVER_ENV_FILE}: expected KEY=VALUE, found "${trimmed}"`);
    entries.push([trimmed.slice(0, eq), trimmed.slice(eq + 1)]);
  }
  return Object.fromEntries(entries);
}

/** What the cluster itself reads from the shared settings (the server reads the rest). */
const REQUIRED = ['DB', 'DBNAME', 'VISIBILITY_DBNAME', 'POSTGRES_USER', 'NUM_HISTORY_SHARDS'] as const;

export function sharedServerEnv(): Record<string, string> & Record<(typeof REQUIRED)[number], string> {
  const env = parseEnvFile(readFileSync(SERVER_ENV_FILE, 'utf8'));
  const missing = REQUIRED.filter((key) => !env[key]);
  if (missing.length) throw new Error(`${SERVER_ENV_FILE}: missing ${missing.join(', ')}`);
  return env as Record<string, string> & Record<(typeof REQUIRED)[number], string>;
}

/** Every port the single server process listens on; all on one loopback address. */
export interface ServerPorts {
  frontend: number;
  frontendHttp: number;
  frontendMembership: number;
  history: number;
  historyMembership: number;
  matching: number;
  matchingMembership: number;
  worker: number;
  workerMembership: number;
  metrics: number;
}

export interface ServerSite {
  ip: string;
  ports: ServerPorts;
  postgresPort: number;
  postgresPassword: string;
}

/**
 * The server's environment for its built-in configuration template (the same template the Docker image renders):
 * the shared settings, plus what depends on this machine. Nothing else of the caller's environment leaks in except
 * PATH and HOME.
 */
export function serverEnv(site: ServerSite): Record<string, string> {
  const { ports } = site;
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/',
    ...sharedServerEnv(),
    POSTGRES_SEEDS: site.ip,
    DB_PORT: String(site.postgresPort),
    POSTGRES_PWD: site.postgresPassword,
    BIND_ON_IP: site.ip,
    FRONTEND_GRPC_PORT: String(ports.frontend),
    FRONTEND_HTTP_PORT: String(ports.frontendHttp),
    FRONTEND_MEMBERSHIP_PORT: String(ports.frontendMembership),
    HISTORY_GRPC_PORT: String(ports.history),
    HISTORY_MEMBERSHIP_PORT: String(ports.historyMembership),
    MATCHING_GRPC_PORT: String(ports.matching),
    MATCHING_MEMBERSHIP_PORT: String(ports.matchingMembership),
    WORKER_GRPC_PORT: String(ports.worker),
    WORKER_MEMBERSHIP_PORT: String(ports.workerMembership),
    PROMETHEUS_ENDPOINT: `${site.ip}:${ports.metrics}`,
    DYNAMIC_CONFIG_FILE_PATH: DYNAMIC_CONFIG_FILE,
  };
}
