import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@temporalio/client';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { filterCatalog } from '../common/filter-catalog';
import { OUTPUT_FORMATS, extensionOf } from '../common/formats';
import { validatePhotoRequest, type PhotoRequest } from '../common/photo-request';
import { checkDecision, DEFAULT_REVIEW_TIMEOUT, type ReviewDecision } from '../common/review';
import { SAFE_ID, SHARE_TARGETS } from '../common/workflow-io';
import type { BlobStore } from '../lib/blob-store';
import { putPhotoBytes, startAlbumRun, startPhotoRun } from '../lib/photo-runs';
import { albumPhotoId } from '../common/album';
import { reviewUpdate } from '../../workflows';
import { HttpError } from './errors';
import { galleryPage, pageParams, type ReadGallery } from './gallery-source';
import { keyParam, renderPreview } from './preview';
import { createRunEvents, streamViews } from './run-events';
import { runView, type RunView } from './run-view';
import { albumView } from './album-view';
import type { AlbumView } from './views';

export interface PhotoApiDeps {
  client: Client;
  store: BlobStore;
  readGallery: ReadGallery;
  webUiOf(workflowId: string): string;
  limits: { maxBytes: number; maxFiles: number };
}

const REQUEST_FIELDS = ['filters', 'share', 'title', 'review', 'fuse', 'intermediates'];
/** The formats browsers show, by blob key extension: only encoded outputs are served whole. */
const CONTENT_TYPES = new Map(OUTPUT_FORMATS.map((f) => [extensionOf(f), `image/${f}`]));

/** The `request` form field: the workflow input without its source, as JSON. */
function parseRequestField(value: unknown): PhotoRequest {
  let request: unknown;
  try {
    request = JSON.parse(String(value));
  } catch (err) {
    throw new HttpError(400, `the request field is not JSON: ${(err as Error).message}`);
  }
  if (request === null || typeof request !== 'object' || Array.isArray(request)) {
    throw new HttpError(400, `expected the request field to be a JSON object, received ${String(value).slice(0, 100)}`);
  }
  const unknown = Object.keys(request).find((k) => !REQUEST_FIELDS.includes(k));
  if (unknown) {
    throw new HttpError(400, `unknown field "${unknown}" in request; expected ${REQUEST_FIELDS.join(', ')}`);
  }
  validatePhotoRequest(request as PhotoRequest);
  return request as PhotoRequest;
}

/** A browser sends the bare name; some send a path. Only the last part is a title, never a path. */
function titleOf(filename: string | undefined): string {
  const name = (filename ?? '').split(/[/\\]/).at(-1)?.trim() ?? '';
  return (name || 'photo').slice(0, 200);
}

function checkWorkflowId(id: string): string {
  if (!SAFE_ID.test(id))
    throw new HttpError(
      400,
      `expected a run ID like photo-1a2b3c4d5e6f-0a1b2c, received ${JSON.stringify(id.slice(0, 210))}`,
    );
  return id;
}

/** The photos of an upload, stored as they arrive, and the request that came first. */
async function readUpload(request: FastifyRequest, limits: PhotoApiDeps['limits'], store: BlobStore) {
  let photoRequest: PhotoRequest | undefined;
  const photos: { source: { blob: string }; title: string }[] = [];
  const parts = request.parts({
    limits: { fileSize: limits.maxBytes, files: limits.maxFiles, fields: 1, fieldSize: 64 * 1024 },
  });
  for await (const part of parts) {
    if (part.type === 'field') {
      if (part.fieldname !== 'request') {
        throw new HttpError(400, `unknown form field "${part.fieldname}"; expected request and photo`);
      }
      photoRequest = parseRequestField(part.value);
      continue;
    }
    if (part.fieldname !== 'photo') {
      throw new HttpError(400, `unknown file field "${part.fieldname}"; send photos as "photo"`);
    }
    if (!photoRequest) {
      throw new HttpError(400, 'send the "request" field before the photos, so a bad request stores nothing');
    }
    const source = await putPhotoBytes(store, await part.toBuffer());
    photos.push({ source, title: titleOf(part.filename) });
  }
  if (!photoRequest) throw new HttpError(400, 'expected a "request" field (JSON) and one or more "photo" files');
  if (photos.length === 0) throw new HttpError(400, 'expected at least one photo (a "photo" file field)');
  return { photoRequest, photos };
}

/**
 * After a refusal mid-upload the rest of the body is still on its way: read it to the end (bounded by the time
 * a sane client needs), so the client gets the JSON answer instead of a connection reset.
 */
async function discardRest(raw: IncomingMessage): Promise<void> {
  if (raw.readableEnded || raw.destroyed) return;
  raw.unpipe();
  raw.resume();
  await Promise.race([once(raw, 'end'), once(raw, 'close'), sleep(30_000)]).catch(() => undefined);
}

export function registerPhotoApi(app: FastifyInstance, deps: PhotoApiDeps): void {
  const viewOf = (id: string): Promise<RunView> => runView(deps, id);
  /** A run that can still be told something: Temporal answers "not found" for a closed one, which would mislead. */
  const runningHandle = async (id: string) => {
    const handle = deps.client.workflow.getHandle(checkWorkflowId(id));
    const { status } = await handle.describe();
    if (status.name !== 'RUNNING') throw new HttpError(409, `the run has already ended (${status.name})`);
    return handle;
  };
  const events = createRunEvents(viewOf);
  app.addHook('onClose', async () => events.stop());

  app.get('/api/catalog', async () => ({
    filters: filterCatalog,
    shareTargets: SHARE_TARGETS,
    review: { defaultTimeout: DEFAULT_REVIEW_TIMEOUT },
    limits: deps.limits,
  }));

  /**
   * multipart/form-data: first `request` (JSON: filters, share, title, review, fuse, intermediates), then one or more `photo`
   * files. The request is checked before any photo is stored; every photo goes into the blob store as it arrives,
   * and the runs start only once the whole upload arrived within the limits, so a refused upload starts nothing.
   */
  app.post('/api/photos', async (request: FastifyRequest, reply) => {
    if (!request.isMultipart()) {
      throw new HttpError(
        415,
        'expected multipart/form-data with a "request" field (JSON) and one or more "photo" files',
      );
    }
    const { photoRequest, photos } = await readUpload(request, deps.limits, deps.store).catch(async (err: unknown) => {
      await discardRest(request.raw);
      throw err;
    });
    const started = (workflowId: string, title: string, page = `/runs/${encodeURIComponent(workflowId)}`) => ({
      workflowId,
      title,
      page,
      webUi: deps.webUiOf(workflowId),
    });
    if (photos.length === 1) {
      const title = photoRequest.title ?? photos[0].title;
      const handle = await startPhotoRun(deps.client, { ...photoRequest, source: photos[0].source, title });
      return reply.code(201).send({ runs: [started(handle.workflowId, title)] });
    }
    // Several photos are one album: each photo's run is a child named after it, known before it starts.
    const title = photoRequest.title ?? `${photos.length} photos`;
    const album = await startAlbumRun(deps.client, { ...photoRequest, title, photos });
    return reply.code(201).send({
      album: started(album.workflowId, title, `/albums/${encodeURIComponent(album.workflowId)}`),
      runs: photos.map((photo, index) => started(albumPhotoId(album.workflowId, index), photo.title)),
    });
  });

  app.get<{ Params: { id: string } }>('/api/photos/:id', async (request) => viewOf(checkWorkflowId(request.params.id)));

  app.get<{ Params: { id: string } }>('/api/photos/:id/events', (request, reply) =>
    streamViews(reply, checkWorkflowId(request.params.id), viewOf, events),
  );

  const decide =
    (decision: ReviewDecision['decision']) =>
    async (request: FastifyRequest<{ Params: { id: string }; Body: { by?: unknown; note?: unknown } | undefined }>) => {
      const { by = 'anonymous', note } = request.body ?? {};
      // The workflow's validator checks again; checking here first answers a bad request with 400, not 409.
      const checked = checkDecision({ decision, by, ...(note !== undefined ? { note } : {}) });
      const handle = await runningHandle(request.params.id);
      const review = await handle.executeUpdate(reviewUpdate, { args: [checked] });
      return { workflowId: handle.workflowId, review };
    };
  app.post('/api/photos/:id/approve', decide('approve'));
  app.post('/api/photos/:id/reject', decide('reject'));

  const cancel = async (request: FastifyRequest<{ Params: { id: string } }>, reply: FastifyReply) => {
    const handle = await runningHandle(request.params.id);
    await handle.cancel();
    return reply.code(202).send({ workflowId: handle.workflowId, status: 'CANCEL_REQUESTED' });
  };
  app.post('/api/photos/:id/cancel', cancel);

  const albumOf = (id: string): Promise<AlbumView> => albumView(deps, id);
  const albumEvents = createRunEvents(albumOf);
  app.addHook('onClose', async () => albumEvents.stop());
  app.get<{ Params: { id: string } }>('/api/albums/:id', async (request) =>
    albumOf(checkWorkflowId(request.params.id)),
  );
  app.get<{ Params: { id: string } }>('/api/albums/:id/events', (request, reply) =>
    streamViews(reply, checkWorkflowId(request.params.id), albumOf, albumEvents),
  );

  app.post('/api/albums/:id/cancel', cancel);

  app.get<{ Querystring: { page?: string; perPage?: string } }>('/api/gallery', async (request) =>
    galleryPage(deps.readGallery, pageParams(request.query)),
  );

  app.get<{ Params: { key: string }; Querystring: { w?: string; shape?: string; scope?: string } }>(
    '/api/previews/:key',
    async (request, reply) => {
      const jpeg = await renderPreview(deps.store, request.params.key, request.query);
      return reply.type('image/jpeg').header('cache-control', 'public, max-age=31536000, immutable').send(jpeg);
    },
  );

  /** A whole output image (what the gallery shows full size). Keys are content hashes: the bytes never change. */
  app.get<{ Params: { key: string } }>('/api/blobs/:key', async (request, reply) => {
    const key = keyParam(request.params.key);
    const type = CONTENT_TYPES.get(key.slice(key.indexOf('.') + 1));
    if (!type)
      throw new HttpError(404, `only ${OUTPUT_FORMATS.join(', ')} images are served whole; use /api/previews/${key}`);
    if (!(await deps.store.has(key))) throw new HttpError(404, `no image ${key} in the blob store`);
    return reply
      .type(type)
      .header('cache-control', 'public, max-age=31536000, immutable')
      .send(await deps.store.get(key));
  });
}
