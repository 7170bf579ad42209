import path from 'node:path';
import fastifyMultipart from '@fastify/multipart';
import fastifyStatic from '@fastify/static';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { bundleBrowserCode } from './browser-assets';
import { describeError, HttpError } from './errors';
import { galleryPage, pageParams } from './gallery-source';
import { albumPage, errorPage, galleryHtml, runPage, uploadPage } from './pages';
import { registerPhotoApi, type PhotoApiDeps } from './photo-api';
import { SAFE_ID } from '../common/workflow-io';

export type WebDeps = PhotoApiDeps;

/**
 * Scripts and styles only from this server, no inline ones, no frames, no plugins: a title with markup in it can
 * never run. Images may also come from blob: URLs (the upload page shows the photos chosen before sending).
 */
const SECURITY_HEADERS = {
  'content-security-policy': [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' blob:",
    "connect-src 'self'",
    "form-action 'self'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
  ].join('; '),
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
  'cross-origin-opener-policy': 'same-origin',
};

/** JSON bodies (review decisions) are tiny; photos come as multipart, limited per file by the upload limit. */
const JSON_BODY_LIMIT = 16 * 1024;

/** The photo site: pages, their scripts and styles, and the JSON API. Listening is the caller's business. */
export async function buildWebApp(deps: WebDeps): Promise<FastifyInstance> {
  const assets = await bundleBrowserCode();
  // forceCloseConnections: open event streams must not keep close() waiting.
  const app = Fastify({ logger: false, bodyLimit: JSON_BODY_LIMIT, forceCloseConnections: true });

  app.addHook('onRequest', async (request, reply) => {
    reply.headers(SECURITY_HEADERS);
    // No other site may make a visitor's browser upload, approve, reject or cancel (a form can POST anywhere).
    // Browsers name the page's origin; curl and scripts send none and are not affected. Hosts are compared, not
    // schemes, so the site also works behind a TLS-terminating proxy.
    const origin = request.headers.origin;
    const host = origin && URL.canParse(origin) ? new URL(origin).host : origin;
    if (request.method !== 'GET' && request.method !== 'HEAD' && origin && host !== request.host) {
      throw new HttpError(403, `requests from ${origin} are not accepted; use this site's own pages or the API`);
    }
  });
  // The API answers errors as JSON, the pages as a page; both with the message the CLI would print.
  const fail = (url: string, reply: FastifyReply, status: number, error: string) =>
    url.startsWith('/api/')
      ? reply.code(status).send({ error })
      : reply.code(status).type('text/html; charset=utf-8').send(errorPage(status, error));
  app.setErrorHandler((err, request, reply) => {
    const { status, error } = describeError(err, deps.limits);
    if (status >= 500) console.error(`web: ${request.method} ${request.url}:`, err);
    return fail(request.url, reply, status, error);
  });
  app.setNotFoundHandler((request, reply) =>
    fail(request.url, reply, 404, `nothing at ${request.method} ${request.url.split('?')[0]}`),
  );

  await app.register(fastifyMultipart);
  await app.register(fastifyStatic, { root: path.join(__dirname, 'public'), prefix: '/static/', index: false });

  app.get<{ Params: { name: string } }>('/assets/:name', async (request, reply) => {
    const code = assets.get(request.params.name);
    if (code === undefined) throw new HttpError(404, `no script ${request.params.name}`);
    return reply.type('text/javascript; charset=utf-8').header('cache-control', 'no-cache').send(code);
  });

  const html = 'text/html; charset=utf-8';
  app.get('/', async (_request, reply) => reply.type(html).send(uploadPage()));
  app.get<{ Params: { id: string } }>('/runs/:id', async (request, reply) => {
    if (!SAFE_ID.test(request.params.id)) throw new HttpError(404, `no run with ID ${request.params.id.slice(0, 200)}`);
    return reply.type(html).send(runPage(request.params.id));
  });
  app.get<{ Params: { id: string } }>('/albums/:id', async (request, reply) => {
    if (!SAFE_ID.test(request.params.id))
      throw new HttpError(404, `no album with ID ${request.params.id.slice(0, 200)}`);
    return reply.type(html).send(albumPage(request.params.id));
  });
  app.get<{ Querystring: { page?: string } }>('/gallery', async (request, reply) =>
    reply.type(html).send(galleryHtml(await galleryPage(deps.readGallery, pageParams({ page: request.query.page })))),
  );

  registerPhotoApi(app, deps);
  return app;
}
