import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Child } from '../lib/child-processes';
import { startNodeProcess } from './cluster';
import { emptyGallery } from './gallery';
import type { MonolithConfig } from './monolith';
import { UsageSampler } from './procfs';
import type { BenchContext, Round } from './results';
import type { JobTiming } from './workload';

/** Mode (a): drives the monolith's process (monolith.ts) from the benchmark. */

export const MONOLITH_MODES = {
  job: {
    id: 'monolith',
    label: '(a) monolith',
    description:
      'one process, no Temporal: upload checks + store, the filter chain in memory (applyChainInProcess), output stored, gallery share',
  },
  filters: {
    id: 'monolith-filters',
    label: '(a) monolith, filters only',
    description:
      'applyChainInProcess on photos already in memory: no upload check, no store, no gallery (reference only)',
  },
} as const;

/** The monolith's process, warmed up once, then measured in rounds. */
export class MonolithRunner {
  private constructor(
    private readonly child: Child,
    private readonly logFile: string,
    private readonly dataDir: string,
    private readonly env: Record<string, string>,
  ) {}

  static async start(
    ctx: BenchContext,
    kind: MonolithConfig['kind'],
    warmup: string[],
    limit: number,
    env: Record<string, string>,
  ) {
    const dataDir = path.join(ctx.workDir, `data-monolith-${kind}`);
    mkdirSync(dataDir, { recursive: true });
    const logFile = path.join(ctx.workDir, `monolith-${kind}.log`);
    const child = await startNodeProcess({
      label: 'monolith',
      entry: 'src/bench/monolith.ts',
      logFile,
      env,
      ipc: true,
    });
    const runner = new MonolithRunner(child, logFile, dataDir, env);
    const ready = runner.message('ready');
    const config: MonolithConfig = { kind, warmup, inFlight: limit, dataDir };
    child.process.send({ type: 'config', config });
    await ready;
    return runner;
  }

  private message(type: string): Promise<{ type: string; timings?: JobTiming[] }> {
    const proc = this.child.process;
    return new Promise((resolve, reject) => {
      const onExit = () => reject(new Error(`the monolith process exited early; see ${this.logFile}`));
      proc.once('exit', onExit);
      proc.on('message', function listen(m: { type: string }) {
        if (m.type !== type) return;
        proc.off('message', listen);
        proc.off('exit', onExit);
        resolve(m);
      });
    });
  }

  async round(jobs: string[]): Promise<Round> {
    await emptyGallery(this.dataDir, this.env);
    const sampler = new UsageSampler([{ label: 'monolith', pid: this.child.pid, worker: true }]).start();
    const done = this.message('done');
    this.child.process.send({ type: 'run', jobs });
    const { timings } = await done;
    return { timings: timings!, usage: sampler.stop() };
  }

  stop(): Promise<void> {
    return this.child.stop(5_000);
  }
}
