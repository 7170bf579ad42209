import { Context } from '@temporalio/activity';

const HEARTBEAT_EVERY_MS = 1_000;

/**
 * Heartbeats while a long, uninterruptible piece of work (a sharp pipeline) runs, so a crashed worker is noticed
 * within the heartbeat timeout rather than after the whole start-to-close timeout. None at the start: the server
 * counts the heartbeat timeout from the activity's start, and each heartbeat the SDK sends is a write on the server,
 * which most filter steps (well under a second) never need (measured: BENCHMARKS.md, Tuning).
 */
export async function withHeartbeat<T>(work: () => Promise<T>, details?: unknown): Promise<T> {
  const context = Context.current();
  const timer = setInterval(() => context.heartbeat(details), HEARTBEAT_EVERY_MS);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}
