import { Context } from '@temporalio/activity';
import { constants } from 'node:fs';
import { open, readlink, realpath, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import type { BlobStore } from '../../src/lib/blob-store';
import type { UploadLimits } from '../../src/lib/config';
import { download, httpUrl, type Resolver } from './fetch-url';
import { readAll } from './read-all';
import { DECODE_LIMITS } from '../shared/image-io';
import { PixelBudget } from '../shared/pixel-budget';
import { invalidInput } from '../../src/common/params';
import { assertSafeSvg } from './svg-safety';
import { extensionOf, formatOf, IMAGE_FORMATS } from '../../src/common/formats';
import { checkKey } from '../../src/common/image-ref';
import { SOURCE_KINDS, type ImageFormat, type ImageRef, type UploadSource } from '../../src/common/types';

/**
 * The upload nano-service: takes an image from a local path or a URL, proves it is a supported, safe, fully decodable
 * image within the limits, and stores the original bytes unchanged. Everything wrong with the input fails on the
 * first attempt as a non-retryable InvalidInput; only transient download failures are retried.
 */

export interface UploadDeps {
  store: BlobStore;
  limits: UploadLimits;
  /** Host name resolution for URL uploads; tests answer with addresses of their choosing. */
  resolve?: Resolver;
  /** Pixels the worker's uploads decode at once (shared by its upload activities); by default a budget of their own. */
  budget?: PixelBudget;
}

export function createUploadActivities({
  store,
  limits,
  resolve,
  budget = new PixelBudget(limits.pixelBudget),
}: UploadDeps) {
  return {
    async upload(source: UploadSource): Promise<ImageRef> {
      const parsed = parseSource(source);
      const data =
        'path' in parsed
          ? await readLocal(parsed.path, limits)
          : 'url' in parsed
            ? await fetchRemote(parsed.url, limits, resolve)
            : await readBlob(store, parsed.blob, limits.maxBytes);
      // A local file's size was checked by stat; a download (say, a 204 answer) can be empty too.
      if (data.length === 0) throw invalidInput('upload: the download is empty (0 bytes); expected an image');
      const image = await inspect(data, limits.maxPixels, budget);
      // Only now, with every check passed, does anything reach the store.
      const blob = await store.put(data, extensionOf(image.format));
      return { ...blob, ...image };
    },
  };
}

export type UploadActivities = ReturnType<typeof createUploadActivities>;

function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

function parseSource(source: unknown): { path: string } | { url: URL } | { blob: string } {
  const given =
    source !== null && typeof source === 'object' && !Array.isArray(source)
      ? Object.entries(source).filter(([, value]) => value !== undefined)
      : [];
  const [key, value] = given.length === 1 ? given[0] : [];
  if (!SOURCE_KINDS.includes(key as (typeof SOURCE_KINDS)[number]) || typeof value !== 'string' || value === '') {
    throw invalidInput(
      `upload: expected source to be exactly one of {path: string}, {url: string} or {blob: string}, received ${show(source)}`,
    );
  }
  if (key === 'blob') {
    try {
      return { blob: checkKey(value) };
    } catch (err) {
      throw invalidInput(`upload: blob: ${(err as Error).message}`);
    }
  }
  if (key === 'url') {
    const url = httpUrl(value);
    if (!url) {
      throw invalidInput(
        `upload: expected url to be an absolute http: or https: URL without credentials, received ${show(value)}`,
      );
    }
    return { url };
  }
  if (value.includes('\0'))
    throw invalidInput(`upload: expected path to contain no NUL characters, received ${show(value)}`);
  if (!path.isAbsolute(value)) throw invalidInput(`upload: expected path to be absolute, received ${show(value)}`);
  if (value.split(path.sep).includes('..')) {
    throw invalidInput(`upload: expected path to contain no '..' segments, received ${show(value)}`);
  }
  if (path.normalize(value) !== value) {
    throw invalidInput(
      `upload: expected path to be normalised (no '.' segments or repeated '/'), received ${show(value)}`,
    );
  }
  return { path: value };
}

function isUnder(file: string, roots: string[]): boolean {
  return roots.some((root) => file === root || file.startsWith(root.endsWith(path.sep) ? root : root + path.sep));
}

/** Symbolic links a path may pass through before we give up, as the kernel does (ELOOP). */
const MAX_LINKS = 40;
const UNSEEN = new Set(['ENOENT', 'ENOTDIR', 'EACCES']);

/**
 * Where `file` leads once every symbolic link is followed, also when it leads nowhere: the missing rest is appended
 * as written. A dangling link is judged by where it points, so the answer to a path outside the roots never depends
 * on whether its target exists.
 */
async function destination(file: string, links = 0): Promise<string> {
  if (links > MAX_LINKS) throw Object.assign(new Error('too many symbolic links'), { code: 'ELOOP' });
  try {
    return await realpath(file);
  } catch (err) {
    // Missing, not a folder, or not ours to look into: the rest of the path is taken as written.
    if (!UNSEEN.has((err as NodeJS.ErrnoException).code ?? '')) throw err;
  }
  const parent = path.dirname(file);
  if (parent === file) return file;
  const realParent = await destination(parent, links + 1);
  const target = await readlink(path.join(realParent, path.basename(file))).catch(() => undefined);
  return target === undefined
    ? path.join(realParent, path.basename(file))
    : destination(path.resolve(realParent, target), links + 1);
}

async function readLocal(file: string, limits: UploadLimits): Promise<Buffer> {
  // Roots as configured and as resolved (a root may itself be a symlink, like /tmp on macOS).
  const resolved = await Promise.all(limits.allowedRoots.map((root) => realpath(root).catch(() => root)));
  const roots = [...limits.allowedRoots, ...resolved];
  // One answer for every path outside the roots, whether or not it exists, so callers cannot probe the worker's disk.
  const outside = () =>
    invalidInput(
      `upload: expected path to lie under one of ${show(limits.allowedRoots)} (allowedRoots, set by ` +
        `NANO_PHOTOS_UPLOAD_ROOTS on the upload worker), received ${show(file)}`,
    );
  // Checked before touching the file system...
  if (!isUnder(file, roots)) throw outside();
  let handle: FileHandle | undefined;
  try {
    // ...and again after following symlinks, so a link inside a root cannot lead out of it.
    const real = await destination(file);
    if (!isUnder(real, roots)) throw outside();
    // O_NOFOLLOW: the last step cannot have been swapped for a link since; O_NONBLOCK: a FIFO cannot hang the read.
    handle = await open(real, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    // Checked on what was opened: refuses directories, devices and FIFOs, and oversized files unread.
    const info = await handle.stat();
    if (!info.isFile()) throw invalidInput(`upload: expected path to be a regular file, received ${show(file)}`);
    checkFileSize(info.size, limits.maxBytes);
    // At most one byte more than allowed: the file may have grown since stat.
    const data = await readAll(handle, info.size, limits.maxBytes + 1);
    checkFileSize(data.length, limits.maxBytes);
    return data;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw invalidInput(`upload: file not found: ${show(file)}`);
    if (code === 'EACCES' || code === 'EPERM' || code === 'ELOOP')
      throw invalidInput(`upload: cannot read ${show(file)} (${code})`);
    throw err;
  } finally {
    await handle?.close();
  }
}

/** A blob the caller put into the shared store: the content is checked like any other upload's. */
async function readBlob(store: BlobStore, key: string, maxBytes: number): Promise<Buffer> {
  if (!(await store.has(key))) {
    throw invalidInput(`upload: blob ${key} is not in the blob store; put the photo's bytes there before starting`);
  }
  const data = await store.get(key);
  checkFileSize(data.length, maxBytes);
  return data;
}

function checkFileSize(size: number, maxBytes: number): void {
  if (size === 0) throw invalidInput('upload: the file is empty (0 bytes); expected an image');
  if (size > maxBytes) {
    throw invalidInput(`upload: expected a file of at most ${maxBytes} bytes (maxBytes), received ${size} bytes`);
  }
}

/** The running activity's context; undefined when called outside an activity (a script, a plain unit test). */
function activityContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}

async function fetchRemote(url: URL, limits: UploadLimits, resolve?: Resolver): Promise<Buffer> {
  const context = activityContext();
  // Heartbeats let a heartbeat timeout notice a stuck download; the signal stops it when the activity is cancelled.
  const progress = (bytes: number) => context?.heartbeat({ downloadedBytes: bytes });
  return download(url, limits, progress, context?.cancellationSignal, resolve);
}

/**
 * Reads the header to detect the format (never trusting a file name or Content-Type), then decodes every pixel once
 * so that damaged or truncated files fail here rather than in a later filter.
 */
async function inspect(
  data: Buffer,
  maxPixels: number,
  budget: PixelBudget,
): Promise<Pick<ImageRef, 'width' | 'height' | 'channels'> & { format: ImageFormat }> {
  assertSafeSvg(data); // before sharp parses anything
  // limitInputPixels is checked against the header, so a decompression bomb fails before any decoding. Animated
  // GIF/WebP: sharp's default (pages: 1) reads the first frame, so width and height are those of one frame.
  const image = sharp(data, { ...DECODE_LIMITS, limitInputPixels: maxPixels });
  const fail = (err: unknown): never => {
    throw explainSharpError(err, maxPixels);
  };
  const meta = await image.metadata().catch(fail);
  const name = formatOf(meta);
  const format = IMAGE_FORMATS.find((accepted) => accepted === name);
  if (!format)
    throw invalidInput(`upload: not a supported image: detected ${name}; expected one of ${IMAGE_FORMATS.join(', ')}`);
  // Every pixel decoded (no shrink-on-load), averaged down as it streams into a 64 x 64 buffer: an image-sized buffer
  // is never held, which took about 90 MB off the peak of four uploads at once (BENCHMARKS.md). A decode to a
  // buffer notices every truncated file, also with decodes running at once; stats() missed about a third of them
  // (test/upload.test.ts).
  // The decoder's own memory grows with the pixels (a progressive JPEG's coefficients: about 3 bytes a pixel), so
  // the decode waits until they fit in the worker's budget.
  const decode = () =>
    image.extractChannel(0).resize(64, 64, { fit: 'fill', fastShrinkOnLoad: false }).raw().toBuffer().catch(fail);
  await budget.run(meta.width * meta.height, decode, activityContext()?.cancellationSignal);
  // Dimensions as displayed: EXIF orientations 5-8 turn the stored pixels by 90 degrees. sharp >= 0.34 reports
  // them as autoOrient; the swap is for metadata without it.
  const upright = meta.autoOrient ?? ((meta.orientation ?? 1) >= 5 ? { width: meta.height, height: meta.width } : meta);
  return { format, width: upright.width, height: upright.height, channels: meta.channels };
}

function explainSharpError(err: unknown, maxPixels: number): Error {
  // libvips repeats lines; keep each once.
  const detail = [
    ...new Set(
      String(err instanceof Error ? err.message : err)
        .split('\n')
        .filter(Boolean),
    ),
  ].join('; ');
  if (/unsupported image format/i.test(detail)) {
    return invalidInput(
      `upload: not a supported image; expected one of ${IMAGE_FORMATS.join(', ')} (sharp: ${detail})`,
    );
  }
  if (/pixel limit/i.test(detail)) {
    return invalidInput(
      `upload: expected an image of at most ${maxPixels} pixels (maxPixels); its header claims more (sharp: ${detail})`,
    );
  }
  return invalidInput(`upload: the image is damaged or incomplete and cannot be decoded (sharp: ${detail})`);
}
