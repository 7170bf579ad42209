import { ensureDevServer, parseServerFlags } from '../lib/local-server';
import { loadConfig } from '../lib/config';

const HELP = `Usage: npm run server -- [--ip 127.0.0.1] [--port 7233] [--ui-port 8233] [--db FILE | --in-memory]

Starts a local Temporal dev server (provisioning the Temporal CLI first if needed) with the Web UI, persisted to
a SQLite file so runs survive a restart, and the project's search attributes registered. Ctrl-C stops it.
If a server already answers on the port, it is reused and this command exits at once.

Options (environment variable in brackets):
  --ip ADDR        listen address (NANO_PHOTOS_SERVER_IP, default 127.0.0.1)
  --port N         frontend gRPC port (NANO_PHOTOS_SERVER_PORT, default 7233)
  --ui-port N      Web UI port (NANO_PHOTOS_UI_PORT, default 8233)
  --db FILE        database file (NANO_PHOTOS_SERVER_DB, default .temporal/dev-server.db)
  --in-memory      keep nothing across restarts`;

async function main(): Promise<void> {
  const flags = parseServerFlags(process.argv.slice(2), loadConfig().localServer);
  if (flags === 'help') {
    console.log(HELP);
    return;
  }
  const { address, uiUrl, server } = await ensureDevServer(flags);
  if (!server) {
    console.log(`A Temporal server already answers on ${address}: reusing it (Web UI, if it has one: ${uiUrl}).`);
    return;
  }
  console.log(`Temporal dev server ready on ${address}. Web UI: ${uiUrl}  (Ctrl-C stops it)`);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => void server.child.kill(signal));
  }
  await server.child.exited;
  console.log('Temporal dev server stopped.');
}

if (require.main === module) {
  main().catch((err) => {
    console.error(`server: ${(err as Error).message}`);
    process.exit(1);
  });
}
