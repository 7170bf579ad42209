import { countOutcomes, type AlbumPhotoOutcome, type AlbumResult } from '../common/album';
import { innermostMessage } from '../common/failures';
import { albumProgressQuery } from '../../workflows';
import { previewPath } from './preview';
import { withTimeout, workflowHead, type ViewDeps } from './workflow-view';
import type { AlbumPhotoView, AlbumView } from './views';

function photoView(outcome: AlbumPhotoOutcome): AlbumPhotoView {
  const { index, title, state, workflowId, output, error } = outcome;
  return {
    index,
    title,
    state,
    workflowId,
    ...(state !== 'waiting' ? { page: `/runs/${encodeURIComponent(workflowId)}` } : {}),
    ...(output ? { thumbnail: previewPath({ ...output, channels: 0 }, 320) } : {}),
    ...(error ? { error } : {}),
  };
}

/**
 * One look at an album: its status from describe(), its photos from the albumProgress query (the latest run of its
 * continue-as-new chain), or from its result once it completed.
 */
export async function albumView(deps: ViewDeps, workflowId: string, queryTimeoutMs = 3000): Promise<AlbumView> {
  const handle = deps.client.workflow.getHandle(workflowId);
  const description = await handle.describe();
  if (description.type !== 'processAlbum') throw new Error(`${workflowId} is not an album`);
  const status = description.status.name;
  const memo = (description.memo ?? {}) as { photos?: number };
  const error =
    status === 'COMPLETED' || status === 'RUNNING'
      ? undefined
      : await handle.result().then(() => undefined, innermostMessage);
  const outcomes: AlbumPhotoOutcome[] =
    status === 'COMPLETED'
      ? ((await handle.result()) as AlbumResult).outcomes
      : ((await withTimeout(handle.query(albumProgressQuery), queryTimeoutMs))?.photos ?? []);
  return {
    ...workflowHead(deps, description, 'albums'),
    total: memo.photos ?? outcomes.length,
    ...countOutcomes(outcomes),
    photos: outcomes.map(photoView),
    ...(error ? { error } : {}),
  };
}
