import type { Context as ActivityContext } from '@temporalio/activity';
import { ApplicationFailure, type MetricMeter } from '@temporalio/common';
import { Runtime, type ActivityInterceptorsFactory } from '@temporalio/worker';
import type { BlobStore, StoredBlob } from './blob-store';

/**
 * The project's own numbers, exported through the SDK's meter: on the worker's Prometheus endpoint next to the
 * SDK's metrics when NANO_PHOTOS_METRICS_ADDRESS is set, dropped otherwise. Each activity's context meter already
 * carries namespace, task_queue and activity_type tags; `service` names the nano-service group.
 */
export const METRIC_NAMES = {
  processed: 'nano_photos_processed',
  failures: 'nano_photos_failures',
  duration: 'nano_photos_activity_duration',
  bytesIn: 'nano_photos_bytes_in',
  bytesOut: 'nano_photos_bytes_out',
} as const;

/** What kind of failure an activity ended with: the ApplicationFailure type (e.g. InvalidInput), else the error's name. */
export function failureType(err: unknown): string {
  if (err instanceof ApplicationFailure) return err.type ?? 'ApplicationFailure';
  return err instanceof Error ? err.name : 'unknown';
}

/** Counts every activity a worker runs (completed, or failed by type) and records how long each took. */
export function activityMetrics(service: string): ActivityInterceptorsFactory {
  return (ctx: ActivityContext) => {
    const meter = ctx.metricMeter.withTags({ service });
    return {
      inbound: {
        async execute(input, next) {
          const started = performance.now();
          try {
            const result = await next(input);
            meter.createCounter(METRIC_NAMES.processed, '1', 'activities completed').add(1);
            return result;
          } catch (err) {
            meter
              .createCounter(METRIC_NAMES.failures, '1', 'activity attempts failed, by failure type')
              .add(1, { failure_type: failureType(err) });
            throw err;
          } finally {
            meter
              .createHistogram(METRIC_NAMES.duration, 'int', 'ms', 'activity attempt duration')
              .record(Math.round(performance.now() - started));
          }
        },
      },
    };
  };
}

/** The blob store with bytes read (in) and written (out) counted per service. */
export function meteredStore(
  store: BlobStore,
  service: string,
  meter: MetricMeter = Runtime.instance().metricMeter,
): BlobStore {
  const tagged = meter.withTags({ service });
  const bytesIn = tagged.createCounter(METRIC_NAMES.bytesIn, 'By', 'blob bytes read');
  const bytesOut = tagged.createCounter(METRIC_NAMES.bytesOut, 'By', 'blob bytes written');
  return {
    async get(key: string): Promise<Buffer> {
      const data = await store.get(key);
      bytesIn.add(data.length);
      return data;
    },
    async put(data: Buffer, extension: string, scope?: string): Promise<StoredBlob> {
      const stored = await store.put(data, extension, scope);
      bytesOut.add(data.length);
      return stored;
    },
    has: (key: string) => store.has(key),
  };
}
