import { say } from '../provision/executables';
import { provisionBlueskyNetwork } from '../provision/bluesky-network';
import { provisionTemporalCli } from '../provision/temporal-cli';
import { provisionTestServer } from '../provision/test-server';
import { provisionVersitygw } from '../provision/versitygw';

/**
 * `npm run provision`: gets the Temporal CLI, the time-skipping test server, the S3 server (versitygw), Node 24 and
 * the local Bluesky network (PDS + PLC directory) ready ahead of time (CI does this), so no test waits on a build.
 */
async function main(): Promise<void> {
  say(`Temporal CLI: ${await provisionTemporalCli()}`);
  say(`Time-skipping test server: ${await provisionTestServer()}`);
  say(`S3 server (versitygw): ${await provisionVersitygw()}`);
  const bluesky = await provisionBlueskyNetwork();
  say(`Node 24: ${bluesky.node}`);
  say(`Bluesky network (PDS and PLC directory): ${bluesky.modulesDir}`);
}

main().catch((err) => {
  say((err as Error).message);
  process.exit(1);
});
