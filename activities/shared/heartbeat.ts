import { Context } from '@temporalio/activity';

const HEARTBEAT_EVERY_MS = 1_000;

/**
 * Heartbeats while a long, uninterruptible piece of work (a sharp pipeline) runs, so a crashed worker is noticed
 * within the heartbeat timeout rather than after the whole start-to-close timeout.
 */
export async function withHeartbeat<T>(work: () => Promise<T>, details?: unknown): Promise<T> {
  const context = Context.current();
  context.heartbeat(details);
  const timer = setInterval(() => context.heartbeat(details), HEARTBEAT_EVERY_MS);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}

/** A pause that keeps heartbeating and ends early if the activity is cancelled. */
export async function heartbeatingSleep(ms: number): Promise<void> {
  await withHeartbeat(() => Context.current().sleep(ms));
}
