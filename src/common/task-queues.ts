// Workflow-safe core: every edit here is a workflow change, covered by the replay test (test/replay.test.ts).
/** One task queue per group of nano-services, so each group deploys and scales on its own workers. */
export const TASK_QUEUES = {
  workflow: 'photos-workflow',
  upload: 'photos-upload',
  filter: 'photos-filter',
  share: 'photos-share',
} as const;

export type ServiceName = keyof typeof TASK_QUEUES;
export const SERVICE_NAMES = Object.keys(TASK_QUEUES) as ServiceName[];
