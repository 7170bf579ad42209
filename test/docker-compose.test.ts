import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseDocument } from 'yaml';
import { SERVICE_NAMES, type ServiceName } from '../src/common/task-queues';
import {
  DYNAMIC_CONFIG_FILE,
  parseEnvFile,
  SCHEMA_SCRIPT,
  SERVER_ENV_FILE,
  serverEnv,
  SETUP_SCRIPT,
  sharedServerEnv,
} from '../src/cluster/server-env';
import { openBlobStore, openObjectStore, probeStore, type StoreSettings } from '../src/lib/blob-store';
import { startChild, type Child } from '../src/lib/child-processes';
import { loadConfig } from '../src/lib/config';
import { cliSearchAttributes } from '../src/lib/dev-server';
import { freePort } from '../src/lib/free-port';
import { putPhotoFile } from '../src/lib/photo-runs';
import { S3Server } from '../src/lib/s3-server';
import { BLOB_STORE_SERVICES, GALLERY_SERVICES } from '../src/lib/workers';
import { SERVER_VERSION, UI_SERVER_VERSION } from '../src/provision/temporal-server';
import { provisionVersitygw, VERSITYGW_MODULE, VERSITYGW_VERSION } from '../src/provision/versitygw';
import { jpeg } from './support/images';

/**
 * No Docker engine is needed: this reads docker-compose.yml the way Compose would (YAML merge keys resolved; variables
 * interpolated only where a test says so) and checks that it runs every nano-service group against the Temporal
 * server and the S3 service it defines, on containers that share no disk. The S3 service's command line and the
 * bucket job also run here, natively, against the versitygw the project provisions.
 */

const root = path.resolve(__dirname, '..');
const composeFile = path.join(root, 'docker-compose.yml');

// The versions `npm run cluster` builds natively: Compose runs the same releases as images.
const TEMPORAL_SERVER_VERSION = SERVER_VERSION.replace(/^v/, '');
const TEMPORAL_UI_VERSION = UI_SERVER_VERSION.replace(/^v/, '');
const POSTGRES_MAJOR = '16';

type StringList = string | string[];
interface Service {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  command?: StringList;
  entrypoint?: StringList;
  environment?: Record<string, string | number | boolean | null> | string[];
  env_file?: StringList;
  volumes?: (string | { type?: string; source?: string; target?: string })[];
  ports?: (string | number | { target?: number; published?: string | number })[];
  container_name?: string;
  depends_on?: string[] | Record<string, { condition?: string }>;
  healthcheck?: { test?: StringList; disable?: boolean };
  profiles?: string[];
}
interface Compose {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

function loadCompose(): Compose {
  const doc = parseDocument(readFileSync(composeFile, 'utf8'), { merge: true });
  assert.deepEqual(
    doc.errors.map((e) => e.message),
    [],
    'docker-compose.yml is valid YAML',
  );
  const compose = doc.toJS() as Compose;
  assert.ok(compose && typeof compose.services === 'object', 'docker-compose.yml has a services map');
  return compose;
}

const compose = loadCompose();
const services = compose.services;
const namedVolumes = new Set(Object.keys(compose.volumes ?? {}));

function words(value: StringList | undefined): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value.map(String) : value.trim().split(/\s+/);
}

/** What the container runs: entrypoint followed by command. */
function argv(service: Service): string[] {
  return [...words(service.entrypoint), ...words(service.command)];
}

function env(service: Service): Record<string, string> {
  const out: Record<string, string> = {};
  if (Array.isArray(service.environment)) {
    for (const entry of service.environment) {
      const eq = entry.indexOf('=');
      if (eq > 0) out[entry.slice(0, eq)] = entry.slice(eq + 1);
    }
  } else {
    for (const [key, value] of Object.entries(service.environment ?? {}))
      out[key] = value === null ? '' : String(value);
  }
  return out;
}

/** What the container's environment is: its env_file(s) first, then `environment` (which wins), as Compose does. */
function fullEnv(service: Service): Record<string, string> {
  const files = words(service.env_file).map((f) => parseEnvFile(readFileSync(path.join(root, f), 'utf8')));
  return Object.assign({}, ...files, env(service)) as Record<string, string>;
}

/** Splits on colons outside `${...}`, so `${DIR:-./photos}:/photos:ro` gives three parts. */
function splitColons(spec: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (let i = 0; i < spec.length; i++) {
    const c = spec[i];
    if (c === '$' && spec[i + 1] === '{') depth++;
    else if (c === '}' && depth > 0) depth--;
    if (c === ':' && depth === 0) {
      parts.push(current);
      current = '';
    } else current += c;
  }
  parts.push(current);
  return parts;
}

interface Mount {
  source: string;
  target: string;
  kind: 'volume' | 'bind' | 'anonymous';
}

function mounts(service: Service): Mount[] {
  return (service.volumes ?? []).map((v) => {
    if (typeof v !== 'string') {
      const source = v.source ?? '';
      const kind = v.type === 'bind' ? 'bind' : source ? 'volume' : 'anonymous';
      return { source, target: v.target ?? '', kind };
    }
    const parts = splitColons(v);
    if (parts.length === 1) return { source: '', target: parts[0], kind: 'anonymous' };
    const [source, target] = parts;
    const kind = /^[./~$]/.test(source) ? 'bind' : 'volume';
    return { source, target, kind };
  });
}

/** Host side of a published port, or undefined for expose-only entries. */
function hostPorts(service: Service): { host: string; container: string }[] {
  return (service.ports ?? []).map((p) => {
    if (typeof p === 'object') return { host: String(p.published ?? ''), container: String(p.target ?? '') };
    const parts = splitColons(String(p));
    return { host: parts.length >= 2 ? parts[parts.length - 2] : '', container: parts[parts.length - 1] };
  });
}

function dependsOn(service: Service): Record<string, string | undefined> {
  const deps = service.depends_on ?? {};
  if (Array.isArray(deps)) return Object.fromEntries(deps.map((d) => [d, undefined]));
  return Object.fromEntries(Object.entries(deps).map(([name, d]) => [name, d?.condition]));
}

/** `npm run [flags] <script> -- ...` → the script's name. */
function npmScript(args: string[]): string | undefined {
  const at = args.findIndex((w, i) => w === 'npm' && args[i + 1] === 'run');
  if (at < 0) return undefined;
  return args.slice(at + 2).find((w) => !w.startsWith('-'));
}

function servicesFlag(args: string[]): string | undefined {
  const at = args.indexOf('--services');
  if (at >= 0) return args[at + 1];
  return args.find((w) => w.startsWith('--services='))?.slice('--services='.length);
}

const workers = Object.entries(services).filter(([, s]) => npmScript(argv(s)) === 'worker');
const packageJson = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
  scripts?: Record<string, string>;
};

function temporalServerName(): string {
  const names = Object.entries(services)
    .filter(([, s]) => /^temporalio\/(server|auto-setup):/.test(s.image ?? ''))
    .map(([name]) => name);
  assert.equal(names.length, 1, `exactly one Temporal server service, found ${names.join(', ') || 'none'}`);
  return names[0];
}

describe('docker-compose.yml', () => {
  it('defines PostgreSQL, the Temporal server, the Web UI and a worker service per nano-service group', () => {
    for (const name of ['postgresql', 'temporal', 'temporal-ui', ...SERVICE_NAMES.map((s) => `worker-${s}`)]) {
      assert.ok(services[name], `service ${name} exists`);
    }
    assert.equal(temporalServerName(), 'temporal');
  });

  it('pins Temporal server, UI and PostgreSQL versions', () => {
    assert.match(
      services.temporal.image ?? '',
      new RegExp(`^temporalio/(server|auto-setup):${TEMPORAL_SERVER_VERSION.replace(/\./g, '\\.')}$`),
    );
    assert.equal(services['temporal-ui'].image, `temporalio/ui:${TEMPORAL_UI_VERSION}`);
    assert.match(services.postgresql.image ?? '', new RegExp(`^postgres:${POSTGRES_MAJOR}([.-]|$)`));
    for (const [name, service] of Object.entries(services)) {
      const image = service.image ?? '';
      if (image.startsWith('temporalio/admin-tools:')) {
        assert.ok(
          image.startsWith(`temporalio/admin-tools:${TEMPORAL_SERVER_VERSION}`),
          `${name}: admin-tools matches the server (${image})`,
        );
      }
    }
  });

  it('keeps PostgreSQL data in a named volume and runs the server on it, with a health check', () => {
    const data = mounts(services.postgresql).find((m) => m.target === '/var/lib/postgresql/data');
    assert.ok(
      data && data.kind === 'volume' && namedVolumes.has(data.source),
      'postgresql data is a declared named volume',
    );
    const server = fullEnv(services.temporal);
    assert.match(server.DB ?? '', /^postgres/);
    assert.equal(server.POSTGRES_SEEDS, 'postgresql');
    const test = words(services.temporal.healthcheck?.test);
    assert.ok(test.length > 0 && services.temporal.healthcheck?.disable !== true, 'temporal has a health check');
    assert.equal(dependsOn(services.temporal).postgresql, 'service_healthy');
  });

  it('has exactly one worker service per nano-service group, each running `npm run worker -- --services <group>`', () => {
    const seen = new Map<ServiceName, string[]>();
    for (const [name, service] of workers) {
      const args = argv(service);
      const at = args.indexOf('worker');
      assert.equal(args[at + 1], '--', `${name}: arguments reach the worker after \`--\` (got ${args.join(' ')})`);
      const flag = servicesFlag(args);
      assert.ok(flag, `${name}: passes --services`);
      for (const group of flag.split(',')) {
        assert.ok(
          SERVICE_NAMES.includes(group as ServiceName),
          `${name}: --services ${group} is one of ${SERVICE_NAMES.join(', ')}`,
        );
        seen.set(group as ServiceName, [...(seen.get(group as ServiceName) ?? []), name]);
      }
    }
    for (const group of SERVICE_NAMES) {
      assert.deepEqual(seen.get(group), [`worker-${group}`], `exactly one worker service runs --services ${group}`);
    }
    assert.equal(workers.length, SERVICE_NAMES.length, 'no extra worker services');
  });

  it('builds every worker from the project Dockerfile', () => {
    for (const [name, service] of workers) {
      const build = typeof service.build === 'string' ? { context: service.build } : service.build;
      assert.ok(build, `${name} has a build section`);
      const context = path.resolve(root, build.context ?? '.');
      assert.equal(context, root, `${name} builds from the project folder`);
      const dockerfile = path.resolve(context, build.dockerfile ?? 'Dockerfile');
      assert.equal(dockerfile, path.join(root, 'Dockerfile'), `${name} uses the project Dockerfile`);
      assert.ok(existsSync(dockerfile), 'Dockerfile exists');
    }
  });

  it('points every worker at the Temporal service by name and port, after it is healthy and set up', () => {
    const server = temporalServerName();
    for (const [name, service] of workers) {
      const address = env(service).TEMPORAL_ADDRESS;
      assert.equal(address, `${server}:7233`, `${name}: TEMPORAL_ADDRESS is ${server}:7233`);
      const deps = dependsOn(service);
      assert.equal(deps[server], 'service_healthy', `${name} waits for ${server} to be healthy`);
    }
  });

  it('lets worker services scale: no container_name, no fixed host ports', () => {
    for (const [name, service] of workers) {
      assert.equal(service.container_name, undefined, `${name} has no container_name`);
      assert.deepEqual(service.ports ?? [], [], `${name} publishes no ports`);
    }
  });

  it('gives the webhook secret to the share worker only, from the host environment', () => {
    const secret = env(services['worker-share']).NANO_PHOTOS_WEBHOOK_SECRET;
    assert.ok(secret !== undefined, 'worker-share sets NANO_PHOTOS_WEBHOOK_SECRET');
    // ${VAR}, ${VAR:-} / ${VAR-} (empty default) or ${VAR:?message} / ${VAR?message}: never a literal value.
    assert.match(
      secret,
      /^\$\{NANO_PHOTOS_WEBHOOK_SECRET(:?-|:?\?[^}]*)?\}$/,
      `the secret is interpolated, not written down (${secret})`,
    );
    const url = env(services['worker-share']).NANO_PHOTOS_WEBHOOK_URL;
    if (url !== undefined)
      assert.match(url, /^\$\{NANO_PHOTOS_WEBHOOK_URL(:?-|:?\?[^}]*)?\}$/, 'the webhook URL comes from the host too');
    for (const [name, service] of Object.entries(services)) {
      if (name !== 'worker-share')
        assert.equal(env(service).NANO_PHOTOS_WEBHOOK_SECRET, undefined, `${name} does not get the secret`);
    }
  });

  it('registers exactly the search attributes in workflows/search-attributes.ts, once the server is up', () => {
    const server = temporalServerName();
    // The service whose command runs a mounted script that creates search attributes.
    const registrations: { name: string; service: Service; script: string }[] = [];
    for (const [name, service] of Object.entries(services)) {
      for (const mount of mounts(service).filter((m) => m.kind === 'bind')) {
        for (const word of argv(service)) {
          if (!word.startsWith(`${mount.target}/`)) continue;
          const file = path.join(root, mount.source, word.slice(mount.target.length));
          if (existsSync(file) && readFileSync(file, 'utf8').includes('search-attribute create')) {
            registrations.push({ name, service, script: readFileSync(file, 'utf8') });
          }
        }
      }
    }
    assert.equal(
      registrations.length,
      1,
      `one service registers search attributes (${registrations.map((r) => r.name).join(', ')})`,
    );
    const [{ name, service, script }] = registrations;

    const block = /SEARCH_ATTRIBUTES='([^']*)'/.exec(script);
    assert.ok(block, `${name}'s script lists SEARCH_ATTRIBUTES='NAME=TYPE ...'`);
    const registered = block[1].split(/\s+/).filter(Boolean).sort();
    assert.deepEqual(registered, cliSearchAttributes().sort());

    assert.equal(dependsOn(service)[server], 'service_healthy', `${name} runs once ${server} is healthy`);
    assert.equal(env(service).TEMPORAL_ADDRESS, `${server}:7233`);
    for (const [workerName, worker] of workers) {
      assert.equal(
        env(service).TEMPORAL_NAMESPACE,
        env(worker).TEMPORAL_NAMESPACE,
        `${name} prepares ${workerName}'s namespace`,
      );
      assert.equal(
        dependsOn(worker)[name],
        'service_completed_successfully',
        `${workerName} starts after ${name} succeeded`,
      );
    }
  });

  it('publishes the Web UI on host port 8080, talking to the Temporal service', () => {
    const ui = services['temporal-ui'];
    assert.equal(env(ui).TEMPORAL_ADDRESS, `${temporalServerName()}:7233`);
    assert.ok(
      hostPorts(ui).some((p) => p.host === '8080' && p.container === '8080'),
      'port 8080 on the host',
    );
  });

  it('runs npm scripts that exist in package.json', () => {
    assert.match(packageJson.scripts?.worker ?? '', /src\/bin\/worker\.ts/, 'package.json has the worker script');
    for (const [name, service] of Object.entries(services)) {
      const script = npmScript(argv(service));
      if (script) assert.ok(packageJson.scripts?.[script], `${name}: npm script "${script}" exists`);
    }
  });
});

/**
 * A value as Compose interpolates it from the shell (or .env): `$$`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`,
 * `${VAR:?message}` and `${VAR?message}`. Anything else fails the test instead of being guessed.
 */
function interpolate(value: string, shell: Record<string, string>): string {
  return value.replace(
    /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-?])([^}]*))?\}|\$./g,
    (match, name, colon, op, arg) => {
      if (match === '$$') return '$';
      if (name === undefined) throw new Error(`unsupported interpolation ${match} in ${value}`);
      const set = name in shell && (colon !== ':' || shell[name] !== '');
      if (set) return shell[name];
      if (op === '?') throw new Error(`${name} is required: ${arg}`);
      return op === '-' ? arg : '';
    },
  );
}

/** A service's environment as its container would see it, given the shell's (or .env's) variables. */
function resolvedEnv(service: Service, shell: Record<string, string> = {}): Record<string, string> {
  return Object.fromEntries(Object.entries(env(service)).map(([k, v]) => [k, interpolate(v, shell)]));
}

/**
 * The names src/lib/config.ts reads itself, observed by running it: the environment it gets records every read
 * and hides its keys from enumeration (Temporal's envconfig copies the whole environment, which would count all).
 */
function namesConfigReads(environment: Record<string, string>): Set<string> {
  const read = new Set<string>();
  const recorder = new Proxy(environment, {
    get(target, key) {
      if (typeof key === 'string') read.add(key);
      return target[key as string];
    },
    ownKeys: () => [],
    getOwnPropertyDescriptor: () => undefined,
  });
  loadConfig(recorder);
  return read;
}

/** The service that runs `npm run <script>` for a script of package.json running `file`. */
function serviceRunning(file: string): [string, Service] {
  const found = Object.entries(services).filter(([, s]) =>
    packageJson.scripts?.[npmScript(argv(s)) ?? '']?.includes(file),
  );
  assert.equal(found.length, 1, `one service runs ${file} (${found.map(([n]) => n).join(', ') || 'none'})`);
  return found[0];
}

/** Argument after `flag` in a command line. */
function flagValue(args: string[], flag: string): string | undefined {
  const at = args.indexOf(flag);
  return at >= 0 ? args[at + 1] : undefined;
}

function servicesOf(service: Service): ServiceName[] {
  return (servicesFlag(argv(service)) ?? '').split(',') as ServiceName[];
}

// What a worker on another host needs to reach the store: the settings `npm run s3` prints (and test:hosts gives its
// hosts), from the code that prints them. The server is only described here, not started.
const S3_SETTINGS = Object.keys(new S3Server('versitygw', { dir: os.tmpdir(), port: 7070 }).env());
const CREDENTIALS = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'];

const storeWorkers = workers.filter(([, s]) => servicesOf(s).some((g) => BLOB_STORE_SERVICES.includes(g)));
const [bucketJobName, bucketJob] = serviceRunning('src/bin/create-buckets.ts');
const [photoName, photoService] = serviceRunning('src/bin/photo.ts');
/** Everything that reads or writes images: store workers, the bucket job, the photo CLI. */
const storeUsers: [string, Service][] = [...storeWorkers, [bucketJobName, bucketJob], [photoName, photoService]];

/** The S3 service the workers' NANO_PHOTOS_S3_ENDPOINT names, and the container port it listens on. */
function s3Service(): { name: string; service: Service; port: string; dataDir: string } {
  const endpoint = new URL(resolvedEnv(bucketJob).NANO_PHOTOS_S3_ENDPOINT ?? '');
  const name = endpoint.hostname;
  const service = services[name];
  assert.ok(service, `NANO_PHOTOS_S3_ENDPOINT names a service of docker-compose.yml (${name})`);
  const args = argv(service);
  const listen = flagValue(args, '--port') ?? '';
  assert.equal(listen.split(':').pop(), endpoint.port, `${name} listens on the port the endpoint names (${listen})`);
  const dataDir = args[args.indexOf('posix') + 1];
  assert.ok(dataDir, `${name} serves a folder (posix backend)`);
  return { name, service, port: endpoint.port, dataDir };
}

describe('docker-compose.yml: hosts that share no disk', () => {
  it('runs versitygw as the S3 service, built from the Go module at the version `npm run s3` provisions', () => {
    const { name, service, dataDir } = s3Service();
    const build = typeof service.build === 'string' ? { context: service.build } : service.build;
    assert.ok(build?.dockerfile, `${name} is built from a Dockerfile of the project`);
    const dockerfile = readFileSync(path.resolve(root, build.context ?? '.', build.dockerfile), 'utf8');
    assert.match(
      dockerfile,
      new RegExp(`go install ${VERSITYGW_MODULE}@${VERSITYGW_VERSION.replace(/\./g, '\\.')}(\\s|$)`),
      `${name} builds ${VERSITYGW_MODULE}@${VERSITYGW_VERSION}`,
    );
    assert.doesNotMatch(dockerfile, /minio/i, 'no MinIO (AGPL)');
    const data = mounts(service).find((m) => m.target === dataDir);
    assert.ok(data && data.kind === 'volume' && namedVolumes.has(data.source), `${name} keeps ${dataDir} in a volume`);
    const others = Object.entries(services).filter(
      ([n, s]) => n !== name && mounts(s).some((m) => m.source === data.source),
    );
    assert.deepEqual(
      others.map(([n]) => n),
      [],
      `only ${name} mounts ${data.source}`,
    );
    for (const p of service.ports ?? [])
      assert.match(String(p), /^127\.0\.0\.1:/, `${name} publishes on loopback only`);
  });

  it('mounts no volume and no host folder in a worker service: no two workers (nor two copies of one) share a disk', () => {
    const sharedBy = new Map<string, string[]>();
    for (const [name, service] of workers) {
      for (const mount of mounts(service)) {
        if (mount.kind !== 'anonymous') sharedBy.set(mount.source, [...(sharedBy.get(mount.source) ?? []), name]);
      }
    }
    const shared = [...sharedBy].filter(([, names]) => names.length > 1).map(([v, n]) => `${v}: ${n.join(', ')}`);
    assert.deepEqual(shared, [], 'no volume or folder is mounted by two worker services');
    // A copy made by --scale mounts what its service mounts: any named volume or host folder would be shared.
    assert.deepEqual([...sharedBy.keys()], [], 'worker services mount no named volume or host folder');
  });

  it('gives every worker that touches images the store settings `npm run s3` prints, and the workflow worker none', () => {
    assert.ok(storeWorkers.length > 0 && storeWorkers.length < workers.length);
    for (const [name, service] of storeWorkers) {
      const keys = Object.keys(env(service));
      assert.deepEqual(
        S3_SETTINGS.filter((k) => !keys.includes(k)),
        [],
        `${name} sets ${S3_SETTINGS.join(', ')}`,
      );
      const config = loadConfig(resolvedEnv(service));
      assert.equal(config.blobStore.driver, 's3', `${name}: the blob store is the S3 bucket`);
      if (servicesOf(service).some((g) => GALLERY_SERVICES.includes(g)))
        assert.equal(config.galleryStore.driver, 's3', `${name}: the gallery is in the S3 bucket`);
    }
    for (const [name, service] of workers.filter((w) => !storeWorkers.includes(w))) {
      const keys = Object.keys(env(service));
      assert.deepEqual(
        keys.filter((k) => S3_SETTINGS.includes(k) || /^AWS_/.test(k)),
        [],
        `${name} handles only references: no store settings, no credentials`,
      );
    }
  });

  it('names only settings src/lib/config.ts reads (the credentials are the AWS SDK’s own)', () => {
    for (const key of CREDENTIALS) assert.ok(S3_SETTINGS.includes(key), `${key} is among \`npm run s3\`'s settings`);
    for (const [name, service] of [
      ...workers,
      [bucketJobName, bucketJob] as const,
      [photoName, photoService] as const,
    ]) {
      const environment = resolvedEnv(service);
      const read = namesConfigReads(environment);
      const unread = Object.keys(environment).filter(
        (k) => /^(NANO_PHOTOS|AWS)_/.test(k) && !CREDENTIALS.includes(k) && !read.has(k),
      );
      assert.deepEqual(unread, [], `${name}: every setting it is given is one config.ts reads`);
    }
  });

  it('points everything that touches images at one bucket and gallery on the S3 service, with the keys it accepts', () => {
    const { name: s3Name, service: s3, port } = s3Service();
    const locations = new Set<string>();
    const own = { AWS_ACCESS_KEY_ID: 'k', AWS_SECRET_ACCESS_KEY: 's', AWS_REGION: 'eu-central-1' };
    // With the local defaults, and with the shell's own keys and region: both sides follow the same variables.
    for (const shell of [{}, own]) {
      const server = resolvedEnv(s3, shell);
      if (shell === own)
        assert.deepEqual(
          [server.ROOT_ACCESS_KEY_ID, server.ROOT_SECRET_ACCESS_KEY, server.VGW_REGION],
          [own.AWS_ACCESS_KEY_ID, own.AWS_SECRET_ACCESS_KEY, own.AWS_REGION],
          `${s3Name} takes the shell's keys and region`,
        );
      else assert.ok(server.ROOT_ACCESS_KEY_ID && server.ROOT_SECRET_ACCESS_KEY, 'local defaults for the keys');
      for (const [name, service] of storeUsers) {
        const environment = resolvedEnv(service, shell);
        const { blobStore, galleryStore } = loadConfig(environment);
        assert.ok(blobStore.driver === 's3' && galleryStore.driver === 's3', `${name} uses the S3 driver`);
        assert.equal(blobStore.s3.endpoint, `http://${s3Name}:${port}`, `${name} reaches ${s3Name}`);
        assert.equal(galleryStore.bucket, blobStore.bucket, `${name}: the gallery is in the blob store's bucket`);
        assert.notEqual(galleryStore.prefix, blobStore.prefix, `${name}: the gallery has a prefix of its own`);
        assert.equal(blobStore.s3.region, server.VGW_REGION, `${name}: the region ${s3Name} signs for`);
        assert.equal(environment.AWS_ACCESS_KEY_ID, server.ROOT_ACCESS_KEY_ID, `${name}: the access key ${s3Name} has`);
        assert.equal(environment.AWS_SECRET_ACCESS_KEY, server.ROOT_SECRET_ACCESS_KEY, `${name}: the secret`);
        locations.add(`${blobStore.bucket}/${blobStore.prefix} ${galleryStore.bucket}/${galleryStore.prefix}`);
      }
    }
    assert.equal(locations.size, 1, `one blob store and one gallery for all: ${[...locations].join('; ')}`);
    for (const [name, service] of storeUsers) {
      for (const key of CREDENTIALS) {
        // ${VAR:-default}: the shell's or .env's keys, else the documented local default; never a key of its own.
        assert.match(
          env(service)[key] ?? '',
          new RegExp(`^\\$\\{${key}(:?-[^}]*)?\\}$`),
          `${name}: ${key} is interpolated`,
        );
      }
    }
  });

  it('creates the bucket in a one-shot job once the S3 service is healthy, before anything that uses it starts', () => {
    const { name: s3Name, service: s3 } = s3Service();
    assert.ok(
      words(s3.healthcheck?.test).length > 0 && s3.healthcheck?.disable !== true,
      `${s3Name} has a health check`,
    );
    assert.equal(dependsOn(bucketJob)[s3Name], 'service_healthy', `${bucketJobName} waits for ${s3Name}`);
    assert.ok([undefined, 'no'].includes((bucketJob as { restart?: string }).restart), `${bucketJobName} runs once`);
    for (const [name, service] of [...storeWorkers, [photoName, photoService] as const]) {
      assert.equal(
        dependsOn(service)[bucketJobName],
        'service_completed_successfully',
        `${name} starts after ${bucketJobName} succeeded`,
      );
    }
  });

  it('lets the photo CLI put local photos into the bucket (the blob source); workers read no local files', () => {
    assert.ok(!argv(photoService).includes('--worker-path'), `${photoName} sends bytes, not paths`);
    const upload = workers.find(([, s]) => servicesOf(s).includes('upload'));
    assert.ok(upload, 'a worker runs the upload service');
    assert.deepEqual(loadConfig(resolvedEnv(upload[1])).upload.allowedRoots, [], `${upload[0]} reads no local file`);
  });
});

describe('docker-compose.yml: the S3 service and the bucket job, run here against the real versitygw', () => {
  // No Docker engine: the S3 service's own command line runs natively (on a free loopback port, a temporary folder
  // instead of its volume), the bucket job's command with its environment, and the stores of every service that
  // touches images are used with theirs, pointed at that port.
  const { name: s3Name, service: s3, port: s3Port, dataDir } = s3Service();
  let dir = '';
  let server: Child | undefined;
  let endpoint = '';

  /** A service's environment with the S3 service's address replaced by the one it has here. */
  function here(service: Service): Record<string, string> {
    const environment = resolvedEnv(service);
    assert.equal(environment.NANO_PHOTOS_S3_ENDPOINT, `http://${s3Name}:${s3Port}`);
    return { ...environment, NANO_PHOTOS_S3_ENDPOINT: endpoint };
  }

  /** The SDK's chain reads the credentials from the environment in the workers; given directly in this process. */
  function storesOf(service: Service) {
    const environment = here(service);
    const credentials = {
      accessKeyId: environment.AWS_ACCESS_KEY_ID,
      secretAccessKey: environment.AWS_SECRET_ACCESS_KEY,
    };
    const config = loadConfig(environment);
    const withKeys = (store: StoreSettings): StoreSettings =>
      store.driver === 's3' ? { ...store, s3: { ...store.s3, credentials } } : store;
    return { config, blobStore: withKeys(config.blobStore), galleryStore: withKeys(config.galleryStore) };
  }

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'nano-photos-compose-'));
    const port = await freePort();
    endpoint = `http://127.0.0.1:${port}`;
    const args = argv(s3).map((w, i, all) =>
      all[i - 1] === '--port' ? `127.0.0.1:${port}` : w === dataDir ? path.join(dir, 's3') : w,
    );
    mkdirSync(path.join(dir, 's3'));
    server = startChild({
      name: 'versitygw',
      command: await provisionVersitygw(),
      args,
      env: { PATH: process.env.PATH, ...resolvedEnv(s3) },
    });
  });

  after(async () => {
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('answers its health check, and the bucket job creates the bucket with the workers’ keys, twice over', async () => {
    const probe = words(s3.healthcheck?.test).find((w) => /^https?:\/\//.test(w));
    assert.ok(probe, `${s3Name}'s health check requests a URL`);
    const health = new URL(probe);
    assert.equal(health.port, s3Port, 'on the port the service listens on');
    assert.equal(health.pathname, flagValue(argv(s3), '--health'), 'the path versitygw answers health checks on');
    const deadline = Date.now() + 30_000;
    let status = 0;
    while (status !== 200 && Date.now() < deadline) {
      status = await fetch(`${endpoint}${health.pathname}`).then(
        (r) => r.status,
        () => 0,
      );
      if (status !== 200) await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(status, 200, `${s3Name} is healthy`);

    // The job as Compose runs it: its command, its environment (the SDK's chain finds the keys there).
    const [command, ...args] = argv(bucketJob);
    const inherited = Object.fromEntries(
      Object.entries(process.env).filter(([k]) => !/^(NANO_PHOTOS|AWS|TEMPORAL)_/.test(k)),
    );
    for (const round of ['creates', 'finds']) {
      const job = spawnSync(command, args, {
        cwd: root,
        env: { ...inherited, ...here(bucketJob) },
        encoding: 'utf8',
        timeout: 120_000,
      });
      assert.equal(job.status, 0, `${bucketJobName} ${round} the bucket: ${job.stderr}`);
      assert.match(job.stderr, /blob store: .* is usable/);
      assert.match(job.stderr, /gallery: .* is usable/);
    }
  });

  it('lets every worker use its stores, and the upload worker find what the photo CLI put in', async () => {
    for (const [name, service] of storeWorkers) {
      const { blobStore, galleryStore } = storesOf(service);
      await probeStore(openObjectStore(blobStore), `${name}'s blob store`);
      if (servicesOf(service).some((g) => GALLERY_SERVICES.includes(g)))
        await probeStore(openObjectStore(galleryStore), `${name}'s gallery`);
    }
    const photo = path.join(dir, 'cat.jpg');
    writeFileSync(photo, await jpeg());
    const source = await putPhotoFile(openBlobStore(storesOf(photoService).blobStore), photo);
    assert.ok('blob' in source, `${photoName} starts runs with a blob reference`);
    const upload = storeWorkers.find(([, s]) => servicesOf(s).includes('upload'));
    assert.ok(upload);
    assert.ok(await openBlobStore(storesOf(upload[1]).blobStore).has(source.blob), `${upload[0]} finds the blob`);
  });
});

describe('Dockerfile and .dockerignore', () => {
  const dockerfile = readFileSync(path.join(root, 'Dockerfile'), 'utf8');
  const instructions = dockerfile.split('\n').filter((line) => line.trim() && !line.trim().startsWith('#'));

  it('builds on node:24-slim (an LTS line in engines) with npm ci, dev dependencies included (tsx runs the worker)', () => {
    assert.match(instructions.find((l) => /^FROM\s/i.test(l)) ?? '', /^FROM\s+node:24-slim(\s|$)/i);
    const ci = instructions.find((l) => /\bnpm ci\b/.test(l));
    assert.ok(ci, 'runs npm ci');
    assert.doesNotMatch(ci, /--omit[= ]dev|--production|--only[= ]prod/);
    assert.doesNotMatch(dockerfile, /NODE_ENV=production/);
    assert.match(dockerfile, /COPY\s+\.\s+\./, 'copies the project');
  });

  it('runs the worker with all services by default', () => {
    const cmd = instructions.filter((l) => /^CMD\s/i.test(l)).pop() ?? '';
    const args = cmd.startsWith('CMD [') ? (JSON.parse(cmd.slice(4)) as string[]) : cmd.slice(4).trim().split(/\s+/);
    assert.equal(npmScript(args), 'worker');
    const flag = servicesFlag(args);
    assert.ok(
      flag === undefined || flag === 'all' || SERVICE_NAMES.every((s) => flag.split(',').includes(s)),
      `all services (${flag})`,
    );
  });

  it('keeps dependencies, local state and git out of the build context', () => {
    const ignored = readFileSync(path.join(root, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim());
    for (const entry of ['node_modules', '.temporal', '.data', '.git'])
      assert.ok(ignored.includes(entry), `.dockerignore lists ${entry}`);
  });
});

describe('docker-compose.yml and `npm run cluster` share one server setup', () => {
  const envFile = path.relative(root, SERVER_ENV_FILE);
  const shared = sharedServerEnv();

  it('gives the server and the schema job the settings in docker/temporal-server.env, and redefines none of them', () => {
    for (const name of ['temporal', 'temporal-schema']) {
      assert.deepEqual(
        words(services[name].env_file).map((f) => path.normalize(f)),
        [envFile],
        `${name} reads ${envFile}`,
      );
      const overridden = Object.keys(env(services[name])).filter((key) => key in shared);
      assert.deepEqual(overridden, [], `${name} does not override the shared settings`);
    }
    assert.ok(Number(shared.NUM_HISTORY_SHARDS) >= 4, 'at least 4 history shards');
    assert.equal(env(services.postgresql).POSTGRES_USER, shared.POSTGRES_USER, 'the database role is the same');
  });

  it('passes every shared setting to the native server unchanged, and the same dynamic config file', () => {
    const ports = {
      frontend: 1,
      frontendHttp: 2,
      frontendMembership: 3,
      history: 4,
      historyMembership: 5,
      matching: 6,
      matchingMembership: 7,
      worker: 8,
      workerMembership: 9,
      metrics: 10,
    };
    const native = serverEnv({ ip: '127.0.0.1', ports, postgresPort: 11, postgresPassword: 'pw' });
    for (const [key, value] of Object.entries(shared)) assert.equal(native[key], value, key);

    const compose = fullEnv(services.temporal);
    const mount = mounts(services.temporal).find((m) => m.kind === 'bind' && m.source.includes('dynamicconfig'));
    assert.ok(mount, 'the dynamic config folder is mounted into the server');
    assert.equal(path.resolve(root, mount.source), path.dirname(DYNAMIC_CONFIG_FILE), 'the same dynamic config folder');
    assert.equal(path.basename(compose.DYNAMIC_CONFIG_FILE_PATH ?? ''), path.basename(DYNAMIC_CONFIG_FILE));
    assert.equal(native.DYNAMIC_CONFIG_FILE_PATH, DYNAMIC_CONFIG_FILE);
    assert.ok(compose.PROMETHEUS_ENDPOINT && native.PROMETHEUS_ENDPOINT, 'both turn the Prometheus endpoint on');
  });

  it('runs the same schema and setup scripts', () => {
    const scriptOf = (name: string) => {
      const mount = mounts(services[name]).find((m) => m.kind === 'bind');
      assert.ok(mount, `${name} mounts the scripts`);
      const word = argv(services[name]).find((w) => w.startsWith(`${mount.target}/`));
      assert.ok(word, `${name} runs a mounted script`);
      return path.resolve(root, mount.source, word.slice(mount.target.length + 1));
    };
    assert.equal(scriptOf('temporal-schema'), SCHEMA_SCRIPT);
    assert.equal(scriptOf('temporal-setup'), SETUP_SCRIPT);
  });
});
