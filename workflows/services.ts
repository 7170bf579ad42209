import type { ActivityOptions } from '@temporalio/common';
import { ActivityCancellationType, proxyActivities } from '@temporalio/workflow';
import type { ChainActivities } from '../activities/filters/fused-chain';
import type { FilterActivities } from '../activities/filters/activities';
import type { FitActivities } from '../activities/filters/fit-image';
import type { ShareActivities } from '../activities/share/activities';
import type { ScratchActivities } from '../activities/store/scratch';
import type { UploadActivities } from '../activities/upload/upload';
import { filterOptions, shareOptions, uploadOptions } from './activity-options';

/** The services as processPhoto calls them; `cancellationType` applies to every activity. */
function services(cancellationType?: ActivityCancellationType) {
  const withCancellation = (options: ActivityOptions) =>
    cancellationType ? { ...options, cancellationType } : options;
  const share = proxyActivities<ShareActivities>(withCancellation(shareOptions));
  return {
    upload: proxyActivities<UploadActivities>(withCancellation(uploadOptions)).upload,
    filters: proxyActivities<FilterActivities>(withCancellation(filterOptions)),
    fused: proxyActivities<ChainActivities>(withCancellation(filterOptions)),
    fit: proxyActivities<FitActivities>(withCancellation(filterOptions)),
    scratch: proxyActivities<ScratchActivities>(withCancellation(filterOptions)),
    share,
    shareTo: { gallery: share.shareGallery, webhook: share.shareWebhook, bluesky: share.shareBluesky } as const,
  };
}
export type Services = ReturnType<typeof services>;

/** As runs before the 'cancel-compensation' patch called them: a cancelled activity is given up on at once. */
export const servicesBeforeCancelCompensation = services();
/**
 * A cancelled activity is waited for until it has ended (filters stop at their next heartbeat, a running share
 * finishes what it started): only then is it known what there is to undo, and nothing runs once the run has ended.
 */
export const servicesAwaitingCancel = services(ActivityCancellationType.WAIT_CANCELLATION_COMPLETED);
