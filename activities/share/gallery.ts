import { mkdir, readdir, readFile, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { PARTIAL_SUFFIX, writeAtomic } from '../../src/lib/atomic-write';
import { type BlobStore, sha256 } from '../../src/lib/blob-store';
import { extensionOf, OUTPUT_FORMATS } from '../../src/common/formats';
import { checkImageRef } from '../../src/common/image-ref';
import { type GalleryEntry, renderGalleryPage } from './gallery-page';
import { invalidInput } from '../../src/common/params';
import type { OutputFormat, ShareInput, ShareReceipt } from '../../src/common/types';

/**
 * The gallery share target: a folder of images plus an index.html, on the share worker's disk.
 *
 * Several worker processes may publish into the same folder at once, so no file is shared between entries except
 * the page: each image has its own JSON sidecar, and the page is only ever rebuilt from the sidecars.
 */
const SAFE_NAME = /^[A-Za-z0-9._-]+$/;
const MAX_KEY_CHARS = 200;
const MAX_TITLE_CHARS = 1000;
/** Rebuilds of the page before giving up and letting Temporal retry the activity (see writeIndex). */
const INDEX_ATTEMPTS = 5;

/**
 * `photo-1a2b3c4d5e6f-x7k2:gallery` → `photo-1a2b3c4d5e6f-x7k2_gallery-<8 hex>`. The hash of the whole key keeps
 * keys apart that sanitise alike (`a:b`, `a_b`).
 */
function entryName(operation: string, key: unknown): string {
  if (
    typeof key !== 'string' ||
    key.length === 0 ||
    key.length > MAX_KEY_CHARS ||
    key.includes('..') ||
    /[/\\\0]/.test(key)
  ) {
    throw invalidInput(
      `${operation}: expected idempotencyKey to be 1-${MAX_KEY_CHARS} characters without "..", "/", "\\" or NUL, ` +
        `received ${JSON.stringify(key)}`,
    );
  }
  return `${key.replace(/[^A-Za-z0-9._-]/g, '_')}-${sha256(Buffer.from(key)).slice(0, 8)}`;
}

function checkInput(input: ShareInput): OutputFormat {
  const { image, title, filters } = input;
  checkImageRef('shareGallery', image, OUTPUT_FORMATS);
  if (typeof title !== 'string' || title.length > MAX_TITLE_CHARS) {
    throw invalidInput(`shareGallery: expected title to be a string of at most ${MAX_TITLE_CHARS} characters`);
  }
  if (!Array.isArray(filters) || !filters.every((f) => typeof f === 'string')) {
    throw invalidInput(`shareGallery: expected filters to be an array of strings, received ${JSON.stringify(filters)}`);
  }
  return image.format as OutputFormat;
}

async function removed(file: string): Promise<boolean> {
  try {
    await unlink(file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

async function isFile(file: string): Promise<boolean> {
  return stat(file).then(
    (s) => s.isFile(),
    () => false,
  );
}

/** A sidecar, or undefined if it is missing, was removed meanwhile, or is not one of ours. */
async function readEntry(file: string): Promise<GalleryEntry | undefined> {
  try {
    const entry = JSON.parse(await readFile(file, 'utf8')) as GalleryEntry;
    // `file` is later joined to the folder and deleted: accept only a plain name.
    const valid =
      typeof entry?.file === 'string' &&
      SAFE_NAME.test(entry.file) &&
      !entry.file.includes('..') &&
      typeof entry.title === 'string' &&
      typeof entry.idempotencyKey === 'string' &&
      typeof entry.publishedAt === 'string' &&
      typeof entry.format === 'string' &&
      Array.isArray(entry.filters) &&
      entry.filters.every((f) => typeof f === 'string');
    return valid ? entry : undefined;
  } catch {
    return undefined;
  }
}

/** Every published entry, as the sidecars say (in no particular order); the page and the web app read them here. */
export async function readGalleryEntries(galleryDir: string): Promise<GalleryEntry[]> {
  const dir = path.resolve(galleryDir);
  const names = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return []; // nothing published yet
    throw err;
  });
  const entries = await Promise.all(names.filter((n) => n.endsWith('.json')).map((n) => readEntry(path.join(dir, n))));
  return entries.filter((e): e is GalleryEntry => e !== undefined);
}

export function createGalleryShare(deps: { store: BlobStore; galleryDir: string }) {
  const dir = path.resolve(deps.galleryDir);
  const sidecarOf = (name: string) => path.join(dir, `${name}.json`);
  const readEntries = () => readGalleryEntries(dir);

  /**
   * Another process may add or remove a sidecar while this one renders, then have its page replaced by this
   * one's. So after writing, check the page still matches the sidecars; whoever writes last therefore writes a
   * current page. Under churn that outlasts the attempts, fail retryably: the retry checks again.
   */
  async function writeIndex(): Promise<void> {
    const index = path.join(dir, 'index.html');
    let page = renderGalleryPage(await readEntries());
    for (let attempt = 0; attempt < INDEX_ATTEMPTS; attempt++) {
      const current = await readFile(index, 'utf8').catch(() => undefined);
      if (current !== page) await writeAtomic(index, page);
      const now = renderGalleryPage(await readEntries());
      if (now === page) return;
      page = now;
    }
    throw new Error(`gallery ${dir}: index.html kept changing under concurrent publishes; will retry`);
  }

  /** A worker killed mid-write leaves `<entry file>.<random>.partial` behind; the retry sweeps this entry's away. */
  async function sweepPartials(name: string): Promise<void> {
    const stale = (await readdir(dir)).filter((f) => f.startsWith(`${name}.`) && f.endsWith(PARTIAL_SUFFIX));
    await Promise.all(stale.map((f) => removed(path.join(dir, f))));
  }

  let rebuilding: Promise<void> | undefined;
  let next: Promise<void> | undefined;
  /**
   * One rebuild at a time in this process; callers arriving during a rebuild share the next one, which reads their
   * sidecars too. Concurrent shares in one worker then cost one page write instead of racing each other.
   */
  function refreshIndex(): Promise<void> {
    if (!rebuilding) {
      rebuilding = writeIndex().finally(() => (rebuilding = undefined));
      return rebuilding;
    }
    next ??= rebuilding
      .catch(() => undefined)
      .then(() => {
        next = undefined;
        return refreshIndex();
      });
    return next;
  }

  return {
    async shareGallery(input: ShareInput): Promise<ShareReceipt> {
      const name = entryName('shareGallery', input?.idempotencyKey);
      const format = checkInput(input);
      const data = await deps.store.get(input.image.key);
      const file = `${name}.${extensionOf(format)}`;
      const location = path.join(dir, file);
      await mkdir(dir, { recursive: true });
      await sweepPartials(name);

      const previous = await readEntry(sidecarOf(name));
      const digest = sha256(data);
      const duplicate =
        previous !== undefined &&
        previous.file === file &&
        previous.sha256 === digest &&
        previous.title === input.title &&
        JSON.stringify(previous.filters) === JSON.stringify(input.filters) &&
        (await isFile(location));
      if (!duplicate) {
        // Image before sidecar: a sidecar never points at a missing image, whatever step a crash interrupts.
        await writeAtomic(location, data);
        const entry: GalleryEntry = {
          idempotencyKey: input.idempotencyKey,
          file,
          title: input.title,
          filters: input.filters,
          format,
          width: input.image.width,
          height: input.image.height,
          bytes: data.length,
          sha256: digest,
          publishedAt: new Date().toISOString(),
        };
        await writeAtomic(sidecarOf(name), `${JSON.stringify(entry, null, 2)}\n`);
        // A re-run that changed the format leaves the old image behind otherwise.
        if (previous && previous.file !== file) await removed(path.join(dir, previous.file));
      }
      // Also on a duplicate: the attempt that wrote the sidecar may have crashed before the page was rebuilt.
      await refreshIndex();
      return { target: 'gallery', location, idempotencyKey: input.idempotencyKey, duplicate };
    },

    /** Compensation: takes a published image down again. Safe to repeat. */
    async unpublishGallery(input: { idempotencyKey: string }): Promise<boolean> {
      const name = entryName('unpublishGallery', input?.idempotencyKey);
      await mkdir(dir, { recursive: true });
      await sweepPartials(name);
      const previous = await readEntry(sidecarOf(name));
      // Sidecar first, so the entry leaves the page even if a crash interrupts; then any image under this name,
      // including one whose publish crashed before its sidecar was written.
      const files = [
        `${name}.json`,
        ...(previous ? [previous.file] : []),
        ...OUTPUT_FORMATS.map(extensionOf).map((ext) => `${name}.${ext}`),
      ];
      let any = false;
      for (const f of new Set(files)) any = (await removed(path.join(dir, f))) || any;
      await refreshIndex();
      return any;
    },
  };
}
