import { stopAll } from '../bench/cluster';
import { HELP, parseOptions } from '../bench/options';
import { runBench } from '../bench/run-bench';

/** `npm run bench`: see src/bench/options.ts for the modes and flags, BENCHMARKS.md for the results. */
async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  if (options === 'help') return console.log(HELP);
  await runBench(options);
}

main().then(
  () => process.exit(),
  async (err) => {
    console.error(`bench: ${(err as Error).stack ?? err}`);
    await stopAll();
    process.exit(1);
  },
);
