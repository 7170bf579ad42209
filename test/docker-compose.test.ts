import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parseDocument } from 'yaml';
import { PHOTO_SEARCH_ATTRIBUTES } from '../src/common/search-attributes';
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
import { SERVER_VERSION, UI_SERVER_VERSION } from '../src/provision/temporal-server';

/**
 * No Docker engine is needed: this reads docker-compose.yml the way Compose would (YAML merge keys resolved, no
 * variable interpolation) and checks that it runs every nano-service group against the Temporal server it defines.
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

  it('mounts one shared data volume in every worker, at the path NANO_PHOTOS_DATA_DIR names', () => {
    const dataMounts = workers.map(([name, service]) => {
      const dir = env(service).NANO_PHOTOS_DATA_DIR;
      assert.ok(dir, `${name} sets NANO_PHOTOS_DATA_DIR`);
      const mount = mounts(service).find((m) => m.target === dir);
      assert.ok(mount, `${name} mounts a volume at ${dir}`);
      assert.equal(mount.kind, 'volume', `${name}: ${dir} is a named volume`);
      assert.ok(namedVolumes.has(mount.source), `${name}: volume ${mount.source} is declared under top-level volumes`);
      return `${mount.source}:${dir}`;
    });
    assert.equal(
      new Set(dataMounts).size,
      1,
      `all workers share one data volume at one path: ${[...new Set(dataMounts)].join(', ')}`,
    );
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

  it('lets only the upload worker read local photos, from a read-only mount', () => {
    const upload = services['worker-upload'];
    const roots = env(upload).NANO_PHOTOS_UPLOAD_ROOTS;
    assert.ok(roots, 'worker-upload sets NANO_PHOTOS_UPLOAD_ROOTS');
    for (const root of roots.split(':')) {
      const spec = (upload.volumes ?? []).find((v) => typeof v === 'string' && splitColons(v)[1] === root);
      assert.ok(spec, `worker-upload mounts ${root}`);
      assert.ok(
        typeof spec === 'string' && splitColons(spec)[2]?.split(',').includes('ro'),
        `${root} is mounted read-only`,
      );
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
    const cliType: Record<string, string> = {
      KEYWORD: 'Keyword',
      KEYWORD_LIST: 'KeywordList',
      TEXT: 'Text',
      INT: 'Int',
      DOUBLE: 'Double',
      BOOL: 'Bool',
      DATETIME: 'Datetime',
    };
    const expected = PHOTO_SEARCH_ATTRIBUTES.map((key) => `${key.name}=${cliType[key.type]}`).sort();
    assert.deepEqual(registered, expected);

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
