import { setTimeout as sleep } from 'node:timers/promises';
import type { Client, WorkflowExecutionDescription } from '@temporalio/client';
import type { WorkflowHead } from './views';

/** What the run and album views share: how they reach Temporal, and the head of the page from describe(). */

export interface ViewDeps {
  client: Client;
  /** The Temporal Web UI page of a workflow. */
  webUiOf(workflowId: string): string;
}

/** The title (from the memo, else the ID), status, times and links of a run (`runs`) or an album (`albums`). */
export function workflowHead(
  deps: ViewDeps,
  description: WorkflowExecutionDescription,
  pages: 'runs' | 'albums',
): WorkflowHead {
  const { workflowId } = description;
  const memo = (description.memo ?? {}) as { title?: string };
  return {
    workflowId,
    title: memo.title ?? workflowId,
    status: description.status.name,
    startedAt: description.startTime.toISOString(),
    ...(description.closeTime ? { closedAt: description.closeTime.toISOString() } : {}),
    webUi: deps.webUiOf(workflowId),
    page: `/${pages}/${encodeURIComponent(workflowId)}`,
  };
}

/** A query's answer, or undefined if it fails or takes too long (no workflow worker is polling). */
export async function withTimeout<T>(query: Promise<T>, timeoutMs: number): Promise<T | undefined> {
  const timer = new AbortController();
  try {
    return await Promise.race([
      query.catch(() => undefined),
      sleep(timeoutMs, undefined, { signal: timer.signal }).catch(() => undefined),
    ]);
  } finally {
    timer.abort();
  }
}
