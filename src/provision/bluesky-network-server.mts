/**
 * A Bluesky network of one PDS and a PLC directory (in memory), on loopback only, for tests: the reference servers
 * (@atproto/pds, @did-plc/server) as provisioned by bluesky-network.ts into the state folder. Run with Node >= 22
 * (the PDS needs it), which strips this file's types itself:
 *
 *   node src/provision/bluesky-network-server.ts '{"modulesDir": ..., "dataDir": ..., "plcPort": N, "pdsPort": N}'
 *
 * Prints one JSON line with the URLs once both listen, and stops cleanly on SIGTERM or SIGINT. No traffic leaves
 * the machine: there is no AppView, and the PDS's AppView and moderation URLs name a loopback port nothing serves.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

interface Options {
  modulesDir: string;
  dataDir: string;
  plcPort: number;
  pdsPort: number;
}

interface Server {
  app: { listen: (...args: unknown[]) => unknown };
  start(): Promise<unknown>;
  destroy(): Promise<void>;
}

/** Express listens on every interface by default; these servers must listen on loopback only. */
function onLoopback(server: Server): Server {
  const listen = server.app.listen.bind(server.app);
  server.app.listen = (port: unknown, ...rest: unknown[]) => listen(port, '127.0.0.1', ...rest);
  return server;
}

async function main(): Promise<void> {
  const options = JSON.parse(process.argv[2] ?? '{}') as Options;
  const load = async (name: string) => {
    const require = createRequire(path.join(options.modulesDir, 'package.json'));
    return import(pathToFileURL(require.resolve(name)).href);
  };
  const plc = await load('@did-plc/server');
  const { PDS } = await load('@atproto/pds');
  const { Secp256k1Keypair } = await load('@atproto/crypto');

  const plcServer = onLoopback(plc.PlcServer.create({ db: plc.Database.mock(), port: options.plcPort }));
  await plcServer.start();
  const plcUrl = `http://127.0.0.1:${options.plcPort}`;

  const key = async () => Secp256k1Keypair.create({ exportable: true });
  const rotationKey = await key();
  const recoveryKey = await key();
  const unused = 'http://127.0.0.1:1';
  mkdirSync(options.dataDir, { recursive: true });
  const pds = onLoopback(
    await PDS.fromEnv({
      devMode: true,
      port: options.pdsPort,
      hostname: 'localhost',
      dataDirectory: options.dataDir,
      blobstoreDiskLocation: path.join(options.dataDir, 'blobs'),
      didPlcUrl: plcUrl,
      recoveryDidKey: recoveryKey.did(),
      plcRotationKeyK256PrivateKeyHex: Buffer.from(await rotationKey.export()).toString('hex'),
      jwtSecret: randomBytes(16).toString('hex'),
      adminPassword: randomBytes(16).toString('hex'),
      serviceHandleDomains: ['.test'],
      inviteRequired: false,
      disableSsrfProtection: true,
      bskyAppViewUrl: unused,
      bskyAppViewDid: 'did:web:appview.invalid',
      bskyAppViewCdnUrlPattern: `${unused}/%s/%s/%s`,
      modServiceUrl: unused,
      modServiceDid: 'did:web:moderation.invalid',
    }),
  );
  await pds.start();

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await pds.destroy().catch(() => undefined);
    await plcServer.destroy().catch(() => undefined);
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.stdout.write(`${JSON.stringify({ pds: `http://localhost:${options.pdsPort}`, plc: plcUrl })}\n`);
}

main().catch((err) => {
  process.stderr.write(`bluesky network: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
