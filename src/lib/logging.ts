import { DefaultLogger, Runtime, type LogEntry } from '@temporalio/worker';

/**
 * Each worker here serves one task queue with only activities or only workflows, by design; the SDK warns about
 * the missing half every start. Drop just those two lines and keep everything else at WARN and above.
 */
const EXPECTED = /^No (workflows|activities) registered, not polling/;

export function installQuietRuntime(metricsAddress?: string): void {
  const base = new DefaultLogger('WARN');
  Runtime.install({
    logger: new DefaultLogger('WARN', (entry: LogEntry) => {
      if (!EXPECTED.test(entry.message)) base.log(entry.level, entry.message, entry.meta);
    }),
    // Prometheus text on http://<metricsAddress>/metrics: the SDK's worker metrics and the project's (src/lib/metrics.ts).
    ...(metricsAddress ? { telemetryOptions: { metrics: { prometheus: { bindAddress: metricsAddress } } } } : {}),
  });
}
