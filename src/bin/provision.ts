import { say } from '../provision/executables';
import { provisionTemporalCli } from '../provision/temporal-cli';
import { provisionTestServer } from '../provision/test-server';

/** `npm run provision`: gets the Temporal CLI and the time-skipping test server ready ahead of time (CI does this). */
async function main(): Promise<void> {
  say(`Temporal CLI: ${await provisionTemporalCli()}`);
  say(`Time-skipping test server: ${await provisionTestServer()}`);
}

main().catch((err) => {
  say((err as Error).message);
  process.exit(1);
});
