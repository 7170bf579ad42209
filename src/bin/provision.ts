import { say } from '../provision/executables';
import { provisionTemporalCli } from '../provision/temporal-cli';
import { provisionTestServer } from '../provision/test-server';
import { provisionVersitygw } from '../provision/versitygw';

/**
 * `npm run provision`: gets the Temporal CLI, the time-skipping test server and the S3 server (versitygw) ready
 * ahead of time (CI does this).
 */
async function main(): Promise<void> {
  say(`Temporal CLI: ${await provisionTemporalCli()}`);
  say(`Time-skipping test server: ${await provisionTestServer()}`);
  say(`S3 server (versitygw): ${await provisionVersitygw()}`);
}

main().catch((err) => {
  say((err as Error).message);
  process.exit(1);
});
