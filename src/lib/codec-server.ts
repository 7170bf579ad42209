import http from 'node:http';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';

/**
 * A remote codec endpoint for the Temporal Web UI: POST /decode (and /encode) take `{"payloads": [...]}` in
 * protobuf JSON (bytes as base64) and answer the same shape, so the UI can show encrypted payloads decoded. Only the
 * UI's own origin may call it from a browser (CORS), so another web page open in the same browser cannot use it to
 * decrypt; it is meant to listen on loopback, next to the user's browser.
 */

const MAX_BODY_BYTES = 4 * 1024 * 1024;

const fromJson = (json: unknown[]): Payload[] =>
  json.map((p) => temporal.api.common.v1.Payload.fromObject(p as Record<string, unknown>) as Payload);
const toJson = (payloads: Payload[]) =>
  payloads.map((p) => temporal.api.common.v1.Payload.toObject(p as temporal.api.common.v1.Payload, { bytes: String }));

export function createCodecServer(codec: PayloadCodec, uiOrigin: string): http.Server {
  return http.createServer((req, res) => {
    const origin = req.headers.origin;
    // Browsers send Origin on cross-origin requests; only the Web UI's is answered. Tools without one (curl) are not
    // browsers a web page could drive.
    if (origin !== undefined && origin !== uiOrigin) {
      return void res.writeHead(403, { vary: 'Origin' }).end(`origin ${origin} may not use this codec server\n`);
    }
    const cors = origin
      ? {
          'access-control-allow-origin': uiOrigin,
          'access-control-allow-credentials': 'true',
          'access-control-allow-methods': 'POST, OPTIONS',
          'access-control-allow-headers': 'content-type, x-namespace, authorization',
          vary: 'Origin',
        }
      : {};
    if (req.method === 'OPTIONS') return void res.writeHead(204, cors).end();
    const route = req.url === '/decode' ? 'decode' : req.url === '/encode' ? 'encode' : undefined;
    if (req.method !== 'POST' || !route) {
      return void res.writeHead(404, cors).end('expected POST /decode or POST /encode\n');
    }
    void answer(req, (p) => codec[route](p)).then(
      (body) => res.writeHead(200, { ...cors, 'content-type': 'application/json' }).end(JSON.stringify(body)),
      (err: Error) => res.writeHead(400, { ...cors, 'content-type': 'text/plain' }).end(`${err.message}\n`),
    );
  });
}

async function answer(req: http.IncomingMessage, work: (payloads: Payload[]) => Promise<Payload[]>) {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new Error(`expected a body of at most ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { payloads?: unknown };
  if (!Array.isArray(body.payloads)) throw new Error('expected a JSON body {"payloads": [...]}');
  return { payloads: toJson(await work(fromJson(body.payloads))) };
}
