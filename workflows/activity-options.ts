import type { ActivityOptions } from '@temporalio/common';
import { INVALID_INPUT } from '../src/common/params';
import { TASK_QUEUES } from '../src/common/task-queues';

/**
 * How processPhoto calls each service: timeouts and retry policies. Part of the workflow (every edit here is a
 * workflow change, see test/replay.test.ts); exported so tests that depend on a timeout import it instead of
 * restating it.
 */

/** Bad input is never retried; everything else is, with backoff and a bound. */
const nonRetryableErrorTypes = [INVALID_INPUT];

/**
 * Upload and filters: attempts back off to 30 s apart, about 2.5 minutes in all, so an outage of the blob store or
 * a worker host (an S3 server restarting, a machine rebooting) is ridden out rather than failing the photo.
 */
export const SERVICE_MAX_ATTEMPTS = 10;
const serviceRetry = {
  initialInterval: '1 second',
  backoffCoefficient: 2,
  maximumInterval: '30 seconds',
  maximumAttempts: SERVICE_MAX_ATTEMPTS,
  nonRetryableErrorTypes,
} as const;

export const uploadOptions: ActivityOptions = {
  taskQueue: TASK_QUEUES.upload,
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '30 seconds',
  retry: serviceRetry,
};

/** Filters heartbeat every second: a crashed worker's filter is retried within seconds, not minutes. */
export const filterOptions: ActivityOptions = {
  taskQueue: TASK_QUEUES.filter,
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '5 seconds',
  retry: serviceRetry,
};

/**
 * A step sent to the filter worker that holds its input in memory waits this long for that worker to take it; then
 * it goes to the shared queue, where any worker makes the input again (a worker that is gone, or too busy).
 */
export const HELD_START_TIMEOUT = '10 seconds';

/**
 * Share targets are other people's services: ride out an outage of an hour or more (attempts back off to 5 minutes
 * apart, about 2 hours in all) and then give up, so a run never waits forever.
 */
export const SHARE_MAX_ATTEMPTS = 25;
export const shareOptions: ActivityOptions = {
  taskQueue: TASK_QUEUES.share,
  startToCloseTimeout: '30 seconds',
  retry: {
    initialInterval: '2 seconds',
    backoffCoefficient: 2,
    maximumInterval: '5 minutes',
    maximumAttempts: SHARE_MAX_ATTEMPTS,
    nonRetryableErrorTypes,
  },
};

/**
 * The store's sweep lists and deletes a whole store, heartbeating per folder: an hour for a large one; a crashed
 * worker's sweep is taken over within a minute and starts over (what was deleted stays deleted).
 */
export const sweepOptions: ActivityOptions = {
  taskQueue: TASK_QUEUES.filter,
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: '1 minute',
  retry: serviceRetry,
};
