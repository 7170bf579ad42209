import { temporal } from '@temporalio/proto';

/**
 * Orchestration overhead read from workflow histories: the gap between one activity's completion and the next
 * one's start (a "hop"), split into where the time goes. A hop is, in order: the server records the completion and
 * schedules a workflow task → the workflow worker picks it up (WorkflowTaskStarted) → runs the workflow code and
 * answers (WorkflowTaskCompleted, which schedules the next activity) → an activity worker picks that up
 * (ActivityTaskStarted, whose time is when the worker's poll got the task).
 */

type Event = temporal.api.history.v1.IHistoryEvent;
const { EventType } = temporal.api.enums.v1;

const INCIDENTS = [
  EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT,
  EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED,
  EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT,
  EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED,
];

function ms(ts: Event['eventTime']): number {
  return Number(ts?.seconds ?? 0) * 1000 + (ts?.nanos ?? 0) / 1e6;
}

export interface Hop {
  from: string;
  to: string;
  /** Completion of `from` to start of `to`. */
  totalMs: number;
  /** Completion → workflow task started: server bookkeeping and dispatch to the workflow worker. */
  toWorkflowTaskMs: number;
  /** Workflow task started → completed: the workflow worker's turn (replay-free with sticky cache) and its reply. */
  workflowTaskMs: number;
  /** Workflow task completed (next activity scheduled) → activity started: dispatch to an activity worker. */
  toActivityMs: number;
}

export interface RunTimeline {
  /** Workflow start → first activity start. */
  firstDispatchMs: number;
  /** Last activity completion → workflow completed. */
  closeMs: number;
  /** When the run closed (the last event's time, ms since the epoch). */
  closedAt: number;
  hops: Hop[];
  /** Time inside activities (start → completion), summed. */
  activityMs: number;
  /** Each activity's time (start → completion of the attempt that completed), by activity type. */
  steps: { type: string; ms: number }[];
  activities: number;
  events: number;
  /** Activity attempts after the first (retries after a failure or a timeout), with their causes. */
  retries: string[];
  /** Timeouts and failures of workflow or activity tasks, e.g. `WORKFLOW_TASK_TIMED_OUT after resize`. */
  incidents: string[];
  /** The longest time between two consecutive events, and the event it ended with. */
  longestGap: { ms: number; before: string };
}

interface ActivityRun {
  type: string;
  attempt?: number;
  failure?: string;
  scheduledId: number;
  started?: number;
  completedId?: number;
  completed?: number;
}

export function timeline(events: Event[]): RunTimeline {
  const activities = new Map<number, ActivityRun>();
  const byId = new Map<number, Event>();
  for (const e of events) {
    const id = Number(e.eventId);
    byId.set(id, e);
    if (e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED) {
      activities.set(id, { type: e.activityTaskScheduledEventAttributes?.activityType?.name ?? '?', scheduledId: id });
    } else if (e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED) {
      const run = activities.get(Number(e.activityTaskStartedEventAttributes?.scheduledEventId))!;
      run.started = ms(e.eventTime);
      run.attempt = e.activityTaskStartedEventAttributes?.attempt ?? 1;
      run.failure = e.activityTaskStartedEventAttributes?.lastFailure?.message ?? undefined;
    } else if (e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED) {
      const run = activities.get(Number(e.activityTaskCompletedEventAttributes?.scheduledEventId))!;
      run.completed = ms(e.eventTime);
      run.completedId = id;
    }
  }
  const runs = [...activities.values()].filter((a) => a.started !== undefined && a.completed !== undefined);
  runs.sort((a, b) => a.scheduledId - b.scheduledId);
  const hops: Hop[] = [];
  for (let i = 1; i < runs.length; i++) {
    const prev = runs[i - 1];
    const next = runs[i];
    // Only sequential steps: the next one was scheduled after the previous one completed (parallel shares are not).
    if (next.scheduledId < prev.completedId!) continue;
    const between = events.filter((e) => Number(e.eventId) > prev.completedId! && Number(e.eventId) < next.scheduledId);
    const wftStarted = between.find((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED);
    const wftCompleted = between.find((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED);
    if (!wftStarted || !wftCompleted) continue;
    hops.push({
      from: prev.type,
      to: next.type,
      totalMs: next.started! - prev.completed!,
      toWorkflowTaskMs: ms(wftStarted.eventTime) - prev.completed!,
      workflowTaskMs: ms(wftCompleted.eventTime) - ms(wftStarted.eventTime),
      toActivityMs: next.started! - ms(wftCompleted.eventTime),
    });
  }
  const first = events[0];
  const last = events[events.length - 1];
  return {
    firstDispatchMs: runs.length ? runs[0].started! - ms(first.eventTime) : NaN,
    closeMs: runs.length ? ms(last.eventTime) - runs[runs.length - 1].completed! : NaN,
    closedAt: ms(last.eventTime),
    hops,
    activityMs: runs.reduce((sum, r) => sum + (r.completed! - r.started!), 0),
    steps: runs.map((r) => ({ type: r.type, ms: r.completed! - r.started! })),
    activities: runs.length,
    events: events.length,
    retries: runs
      .filter((r) => (r.attempt ?? 1) > 1)
      .map((r) => `${r.type} attempt ${r.attempt}: ${r.failure ?? 'unknown'}`),
    incidents: events
      .filter((e) => INCIDENTS.includes(e.eventType!))
      .map((e) => EventType[e.eventType!].replace('EVENT_TYPE_', '')),
    longestGap: events.slice(1).reduce(
      (longest, e, i) => {
        const gap = ms(e.eventTime) - ms(events[i].eventTime);
        return gap > longest.ms ? { ms: gap, before: EventType[e.eventType!].replace('EVENT_TYPE_', '') } : longest;
      },
      { ms: 0, before: '' },
    ),
  };
}
