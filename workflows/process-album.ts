import {
  CancellationScope,
  continueAsNew,
  defineQuery,
  executeChild,
  isCancellation,
  setHandler,
  upsertMemo,
  workflowInfo,
} from '@temporalio/workflow';
import {
  albumPhotoId,
  countOutcomes,
  validateAlbum,
  type AlbumInput,
  type AlbumPhotoOutcome,
  type AlbumProgress,
  type AlbumResult,
} from '../src/common/album';
import { innermostMessage } from '../src/common/failures';
import { labelledStart } from '../src/common/run-labels';
import type { ProcessPhotoInput } from '../src/common/workflow-io';
import { processPhoto } from './process-photo';

export const albumProgressQuery = defineQuery<AlbumProgress>('albumProgress');

/**
 * Several photos as one album: a child processPhoto per photo, at most `concurrency` at once. A photo that fails
 * (not an image, a share that gives up) is recorded and the album goes on. Every `batchSize` photos the album waits
 * for its running children and continues as new, carrying only the outcomes, so its history stays bounded: a few
 * events and one small result per photo of the current batch.
 */
export async function processAlbum(input: AlbumInput): Promise<AlbumResult> {
  const { photos, concurrency, batchSize, chain, targets, review } = validateAlbum(input);
  const albumId = workflowInfo().workflowId;
  const title = input.title ?? `${photos.length} photos`;
  const outcomes = new Map<number, AlbumPhotoOutcome>((input.outcomes ?? []).map((o) => [o.index, o]));
  const photoTitle = (index: number) => photos[index].title ?? `${title} (${index + 1} of ${photos.length})`;
  setHandler(albumProgressQuery, (): AlbumProgress => {
    const all = photos.map(
      (_, index): AlbumPhotoOutcome =>
        outcomes.get(index) ?? {
          index,
          title: photoTitle(index),
          state: 'waiting',
          workflowId: albumPhotoId(albumId, index),
        },
    );
    return { title, total: photos.length, ...countOutcomes(all), photos: all };
  });
  if (input.next === undefined) upsertMemo({ title, photos: photos.length });

  async function runPhoto(index: number): Promise<void> {
    const known = { index, title: photoTitle(index), workflowId: albumPhotoId(albumId, index) };
    outcomes.set(index, { ...known, state: 'running' });
    try {
      const request: ProcessPhotoInput = {
        source: photos[index].source,
        title: known.title,
        filters: chain,
        share: targets,
        ...(review ? { review: input.review } : {}),
        ...(input.fuse !== undefined ? { fuse: input.fuse } : {}),
      };
      // The photo's title and search attributes come with its start (replay checks only a child's ID and type).
      const result = await executeChild(processPhoto, {
        workflowId: known.workflowId,
        args: [request],
        ...labelledStart(request),
      });
      const { key, format, width, height } = result.output;
      const published = !result.review || result.review.decision === 'approved';
      outcomes.set(index, {
        ...known,
        state: published ? 'done' : 'not-published',
        output: { key, format, width, height },
      });
    } catch (err) {
      // The album being cancelled ends it; one photo's run cancelled on its own is that photo's failure.
      if (isCancellation(err) && CancellationScope.current().consideredCancelled) throw err;
      outcomes.set(index, { ...known, state: 'failed', error: innermostMessage(err) });
    }
  }

  let next = input.next ?? 0;
  const inFlight = new Set<Promise<void>>();
  for (let started = 0; next < photos.length && started < batchSize; started++) {
    while (inFlight.size >= concurrency) await Promise.race(inFlight);
    const running: Promise<void> = runPhoto(next++).finally(() => inFlight.delete(running));
    inFlight.add(running);
  }
  await Promise.all(inFlight);
  if (next < photos.length) {
    return continueAsNew<typeof processAlbum>({ ...input, next, outcomes: [...outcomes.values()] });
  }
  const all = [...outcomes.values()].sort((a, b) => a.index - b.index);
  return { total: photos.length, ...countOutcomes(all), outcomes: all };
}
