import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { waitUntilReady, type Child } from '../lib/child-processes';
import { serverAnswers } from '../lib/connection';
import { say } from '../provision/executables';
import type { ClusterBinaries } from '../provision/temporal-server';
import { startClusterProcess } from './cluster-process';
import { startPostgres, type Postgres } from './postgres';
import { pickPorts, type ClusterPorts } from './ports';
import { SCHEMA_SCRIPT, serverEnv, SETUP_SCRIPT, sharedServerEnv } from './server-env';

const run = promisify(execFile);

export interface ClusterOptions {
  binaries: ClusterBinaries;
  /** Holds PostgreSQL's data, the UI's config and every log; reused by the next start. */
  dir: string;
  ip?: string;
  /** Ports to use; the rest are picked free. */
  ports?: Partial<ClusterPorts>;
  /** Start the Web UI (default true). */
  ui?: boolean;
}

/**
 * A production-shape Temporal on this machine: PostgreSQL, the multi-shard server (all four services in one
 * process) and the Web UI, each a child process stopped by its own process id. Each part can be stopped (or killed)
 * and started again on the same ports and data, which is what the fault tests do.
 */
export class Cluster {
  readonly ip: string;
  readonly address: string;
  readonly metricsUrl: string;
  readonly uiUrl?: string;
  postgres?: Postgres;
  server?: Child;
  ui?: Child;

  private constructor(
    private readonly o: ClusterOptions,
    readonly ports: ClusterPorts,
  ) {
    this.ip = o.ip ?? '127.0.0.1';
    this.address = `${this.ip}:${ports.frontend}`;
    this.metricsUrl = `http://${this.ip}:${ports.metrics}/metrics`;
    if (o.ui !== false) this.uiUrl = `http://${this.ip}:${ports.ui}`;
  }

  /** Starts everything; on any failure, stops what it had started and rethrows. */
  static async start(o: ClusterOptions): Promise<Cluster> {
    mkdirSync(o.dir, { recursive: true });
    const cluster = new Cluster(o, await pickPorts(o.dir, o.ports));
    try {
      await cluster.startPostgres();
      await cluster.migrateSchemas();
      await cluster.startServer();
      await cluster.setUp();
      if (o.ui !== false) await cluster.startUi();
    } catch (err) {
      await cluster.stop();
      throw err;
    }
    return cluster;
  }

  private log(name: string): string {
    return path.join(this.o.dir, `${name}.log`);
  }

  async startPostgres(): Promise<Postgres> {
    const started = Date.now();
    this.postgres = await startPostgres({
      binDir: this.o.binaries.postgresBinDir,
      dir: path.join(this.o.dir, 'postgres'),
      port: this.ports.postgres,
      superuser: sharedServerEnv().POSTGRES_USER,
    });
    say(
      `PostgreSQL ready on ${this.ip}:${this.ports.postgres} (pid ${this.postgres.process.pid}, ${Date.now() - started} ms).`,
    );
    return this.postgres;
  }

  /** docker/temporal-schema.sh with the natively built schema tool: creates and migrates both databases. */
  async migrateSchemas(): Promise<void> {
    const started = Date.now();
    const shared = sharedServerEnv();
    const env = {
      PATH: process.env.PATH,
      SQL_TOOL: this.o.binaries.sqlTool,
      POSTGRES_SEEDS: this.ip,
      DB_PORT: String(this.ports.postgres),
      POSTGRES_USER: shared.POSTGRES_USER,
      SQL_PASSWORD: this.requirePostgres().password,
      DBNAME: shared.DBNAME,
      VISIBILITY_DBNAME: shared.VISIBILITY_DBNAME,
    };
    await runScript(SCHEMA_SCRIPT, env, this.log('schema'));
    say(`Schemas of ${shared.DBNAME} and ${shared.VISIBILITY_DBNAME} up to date (${Date.now() - started} ms).`);
  }

  async startServer(): Promise<Child> {
    const started = Date.now();
    const postgres = this.requirePostgres();
    this.server = startClusterProcess({
      name: 'Temporal server',
      command: this.o.binaries.server,
      args: ['--allow-no-auth', 'start'],
      env: serverEnv({
        ip: this.ip,
        ports: this.ports,
        postgresPort: postgres.port,
        postgresPassword: postgres.password,
      }),
      logFile: this.log('temporal-server'),
    });
    await waitUntilReady(this.server, `waiting for the frontend to answer on ${this.address}`, () =>
      serverAnswers(this.address),
    );
    say(`Temporal server ready on ${this.address} (pid ${this.server.pid}, ${Date.now() - started} ms).`);
    return this.server;
  }

  /** docker/temporal-setup.sh with the provisioned CLI: namespace `default` and the project's search attributes. */
  async setUp(): Promise<void> {
    const env = {
      PATH: `${path.dirname(this.o.binaries.cli)}${path.delimiter}${process.env.PATH ?? ''}`,
      HOME: process.env.HOME,
      TEMPORAL_ADDRESS: this.address,
      TEMPORAL_NAMESPACE: 'default',
    };
    await runScript(SETUP_SCRIPT, env, this.log('setup'));
  }

  async startUi(): Promise<Child> {
    // The UI server reads <root>/config/<env>.yaml; this one is generated because the address and port vary.
    const root = path.join(this.o.dir, 'ui');
    mkdirSync(path.join(root, 'config'), { recursive: true });
    const config = [
      `temporalGrpcAddress: ${this.address}`,
      `host: ${this.ip}`,
      `port: ${this.ports.ui}`,
      'enableUi: true',
      'defaultNamespace: default',
      // No calls to the internet from a local cluster.
      'notifyOnNewVersion: false',
      '',
    ].join('\n');
    writeFileSync(path.join(root, 'config', 'cluster.yaml'), config);
    this.ui = startClusterProcess({
      name: 'Temporal Web UI',
      command: this.o.binaries.uiServer,
      args: ['--root', root, '--config', 'config', '--env', 'cluster', 'start'],
      logFile: this.log('ui-server'),
    });
    const url = this.uiUrl!;
    await waitUntilReady(this.ui, `waiting for the Web UI to answer on ${url}`, async () => {
      try {
        return (await fetch(url)).ok;
      } catch {
        return false;
      }
    });
    say(`Web UI ready on ${url} (pid ${this.ui.pid}).`);
    return this.ui;
  }

  private requirePostgres(): Postgres {
    if (!this.postgres) throw new Error('PostgreSQL is not started');
    return this.postgres;
  }

  /** Stops the UI, the server, then PostgreSQL (fast shutdown), each by its process id. */
  async stop(): Promise<void> {
    await this.ui?.stop();
    await this.server?.stop();
    await this.postgres?.process.stop(undefined, 'SIGINT');
  }
}

async function runScript(script: string, env: NodeJS.ProcessEnv, logFile: string): Promise<void> {
  try {
    const { stdout, stderr } = await run('/bin/sh', [script], { env, maxBuffer: 16 * 1024 * 1024 });
    writeFileSync(logFile, stdout + stderr, { flag: 'a' });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    writeFileSync(logFile, `${e.stdout ?? ''}${e.stderr ?? ''}`, { flag: 'a' });
    throw new Error(
      `${path.basename(script)} failed (log: ${logFile}): ${e.message}\n${(e.stderr ?? '').slice(-2000)}`,
      { cause: err },
    );
  }
}
