import path from 'node:path';
import { parseArgs } from 'node:util';
import { Cluster } from '../cluster/cluster';
import { stateDir } from '../lib/paths';
import { say } from '../provision/executables';
import { provisionTemporalCli } from '../provision/temporal-cli';
import { provisionCluster } from '../provision/temporal-server';

const HELP = `Usage: npm run cluster -- [--port 7233] [--ui-port 8080] [--postgres-port N] [--dir DIR] [--provision-only]

Runs a production-shape Temporal on this machine: PostgreSQL, the Temporal server (4 history shards, all services
in one process, Prometheus metrics) and its Web UI, all on 127.0.0.1. Builds the server once (cached in .temporal/).
Data persists in DIR (default .temporal/cluster) across restarts. Ctrl-C stops everything.

Options:
  --port N           the frontend's gRPC port (default 7233, what workers and \`npm run photo\` use by default)
  --ui-port N        the Web UI (default 8080)
  --postgres-port N  PostgreSQL (default: a free port)
  --metrics-port N   the server's Prometheus endpoint (default 9090)
  --dir DIR          data and logs (default .temporal/cluster)
  --provision-only   build what is missing, start nothing (CI does this up front)
  -h, --help         this text`;

function port(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535)
    throw new Error(`${flag}: expected a port between 1 and 65535, received ${value}`);
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      'ui-port': { type: 'string' },
      'postgres-port': { type: 'string' },
      'metrics-port': { type: 'string' },
      dir: { type: 'string' },
      'provision-only': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(HELP);
    return;
  }
  const started = Date.now();
  const binaries = await provisionCluster(provisionTemporalCli);
  if (values['provision-only']) {
    say(`Provisioned in ${((Date.now() - started) / 1000).toFixed(1)} s: ${Object.values(binaries).join(', ')}`);
    return;
  }
  const cluster = await Cluster.start({
    binaries,
    dir: path.resolve(values.dir ?? path.join(stateDir, 'cluster')),
    ports: {
      frontend: port(values.port, '--port') ?? 7233,
      ui: port(values['ui-port'], '--ui-port') ?? 8080,
      metrics: port(values['metrics-port'], '--metrics-port') ?? 9090,
      postgres: port(values['postgres-port'], '--postgres-port'),
    },
  });
  console.log(`
Temporal cluster ready in ${((Date.now() - started) / 1000).toFixed(1)} s
  Frontend (gRPC):   ${cluster.address}      export TEMPORAL_ADDRESS=${cluster.address}
  Web UI:            ${cluster.uiUrl}
  Server metrics:    ${cluster.metricsUrl}
  PostgreSQL:        ${cluster.ip}:${cluster.ports.postgres} (user temporal; databases temporal, temporal_visibility)
  Logs and data:     ${values.dir ?? path.join(stateDir, 'cluster')}
Press Ctrl-C to stop.`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  say('Stopping the Web UI, the Temporal server and PostgreSQL...');
  await cluster.stop();
  say('Stopped.');
}

main().catch((err) => {
  say((err as Error).message);
  process.exit(1);
});
