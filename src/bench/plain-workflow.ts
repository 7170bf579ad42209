import { CancellationScope, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { FilterActivities } from '../../activities/filters/activities';
import type { ShareActivities } from '../../activities/share/activities';
import type { ScratchActivities } from '../../activities/store/scratch';
import type { UploadActivities } from '../../activities/upload/upload';
import { filterOptions, shareOptions, uploadOptions } from '../../workflows/activity-options';
import type { ProcessPhotoInput } from '../common/workflow-io';

/**
 * The orchestration ceiling's reference: the activities processPhoto runs for the workload (upload, each filter step
 * with the intermediates in the run's scratch, their deletion, the gallery share), in the same order, on the same task queues, with the same options and inputs, and nothing
 * else: no validation, search attributes, memo, patches, query or summaries. What processPhoto costs beyond this is
 * its own bookkeeping. Bundled only by the benchmark's no-op worker (src/bench/noop-worker.ts).
 */
export const PLAIN_TASK_QUEUE = 'bench-plain-workflows';

const { upload } = proxyActivities<UploadActivities>(uploadOptions);
const filters = proxyActivities<FilterActivities>(filterOptions);
const { deleteScratch } = proxyActivities<ScratchActivities>(filterOptions);
const { shareGallery } = proxyActivities<ShareActivities>(shareOptions);

export async function plainPipeline(input: ProcessPhotoInput): Promise<number> {
  let image = await upload(input.source);
  const steps = input.filters ?? [];
  const scratch = workflowInfo().runId;
  try {
    for (const [index, step] of steps.entries()) {
      const intermediate = index < steps.length - 1 ? { scratch } : {};
      image = await filters[step.filter as keyof FilterActivities]({ image, params: step.params, ...intermediate });
    }
  } finally {
    if (steps.length > 1) await CancellationScope.nonCancellable(() => deleteScratch({ scope: scratch }));
  }
  const filterNames = steps.map((s) => s.filter);
  await shareGallery({
    image,
    title: 'photo',
    filters: filterNames,
    idempotencyKey: `${workflowInfo().workflowId}:gallery`,
  });
  return 1 + filterNames.length + (steps.length > 1 ? 1 : 0) + 1;
}
