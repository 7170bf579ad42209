// Workflow-safe core: every edit here is a workflow change, covered by the replay test (test/replay.test.ts).

/**
 * The innermost message of an error chain: a service's own words rather than the "Activity task failed" or
 * "Workflow execution failed" wrappers around them.
 */
export function innermostMessage(err: unknown): string {
  let error = err as Error & { cause?: unknown };
  while (error?.cause instanceof Error) error = error.cause as Error & { cause?: unknown };
  return error?.message ?? String(err);
}
