import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { FastifyInstance } from 'fastify';
import { chromium, type Browser } from 'playwright-core';
import { openBlobStore, openObjectStore } from '../../src/lib/blob-store';
import type { PhotoConfig } from '../../src/lib/config';
import { projectRoot } from '../../src/lib/project-root';
import { webUiLink } from '../../src/lib/photo-runs';
import { buildWebApp } from '../../src/web/app';
import { galleryReader } from '../../src/web/gallery-source';

export const CHROMIUM = '/usr/bin/chromium';
/** Git-ignored: what the browser tests saw, for a person to look at. */
export const SCREENSHOT_DIR = path.join(projectRoot, 'test-output', 'screenshots');

export interface WebApp {
  app: FastifyInstance;
  /** `http://127.0.0.1:<port>` */
  base: string;
  close(): Promise<void>;
}

/** The photo site as `npm run web` builds it, on the environment's server and the world's stores, on a free port. */
export async function startWebApp(
  env: TestWorkflowEnvironment,
  config: PhotoConfig,
  limits = { maxBytes: config.upload.maxBytes, maxFiles: config.web.maxFiles },
): Promise<WebApp> {
  const app = await buildWebApp({
    client: env.client,
    store: openBlobStore(config.blobStore),
    readGallery: galleryReader(openObjectStore(config.galleryStore)),
    webUiOf: (id) => webUiLink(config.uiUrl, env.namespace ?? 'default', id),
    limits,
  });
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, base, close: () => app.close() };
}

/** Debian's chromium, driven by playwright-core (Playwright's own browser download is unreachable here). */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (the browser tests drive Debian's build)`);
  }
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    // As root the sandbox must be off; the rest keeps the browser from calling out to Google's services.
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

export interface ServerEvent {
  event: string;
  data: unknown;
}

/**
 * Reads a server-sent event stream the way a browser's EventSource does, until the server ends it or `stop` says
 * enough; every event is returned, in order.
 */
export async function readEvents(
  url: string,
  stop: (event: ServerEvent) => boolean = () => false,
  timeoutMs = 60_000,
): Promise<ServerEvent[]> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(new Error(`no end of ${url} within ${timeoutMs} ms`)), timeoutMs);
  const events: ServerEvent[] = [];
  try {
    const response = await fetch(url, { signal: abort.signal, headers: { accept: 'text/event-stream' } });
    if (!response.ok || !response.body) throw new Error(`${url}: ${response.status} ${await response.text()}`);
    let buffer = '';
    for await (const chunk of response.body.pipeThrough(new TextDecoderStream())) {
      buffer += chunk;
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const field = (name: string) =>
          block
            .split('\n')
            .find((line) => line.startsWith(`${name}: `))
            ?.slice(name.length + 2);
        const event = field('event');
        if (!event) continue; // a keep-alive comment
        events.push({ event, data: JSON.parse(field('data') ?? 'null') });
        if (stop(events.at(-1)!)) return events;
      }
    }
    return events;
  } finally {
    clearTimeout(timer);
    abort.abort();
  }
}
