import { type BlobStore, type ObjectStore, sha256 } from '../../src/lib/blob-store';
import { extensionOf, OUTPUT_FORMATS } from '../../src/common/formats';
import { checkImageRef, hashOfKey } from '../../src/common/image-ref';
import { type GalleryEntry, renderGalleryPage } from './gallery-page';
import { invalidInput } from '../../src/common/params';
import type { OutputFormat, ShareInput, ShareReceipt } from '../../src/common/types';

/**
 * The gallery share target: images plus an index.html in shared storage (a folder, or a bucket under a prefix), so
 * share workers on every host publish into one gallery.
 *
 * Several workers may publish at once, so no object is shared between entries except the page: each image has its
 * own JSON sidecar, and the page is only ever rebuilt from a listing of the sidecars.
 */
const SAFE_NAME = /^[A-Za-z0-9._-]+$/;
const MAX_KEY_CHARS = 200;
const MAX_TITLE_CHARS = 1000;
const INDEX = 'index.html';
/**
 * Rebuilds of the page before giving up and letting Temporal retry the activity (see writeIndex). Each takes a
 * listing and a page write (tens of ms): 20 ride out bursts of publishes from several hosts (measured in
 * test/blob-store-contract.test.ts, where 5 attempts sometimes did not).
 */
const INDEX_ATTEMPTS = 20;

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

/** A sidecar, or undefined if it is missing or is not one of ours. */
function parseEntry(data: Buffer | undefined): GalleryEntry | undefined {
  if (!data) return undefined;
  try {
    const entry = JSON.parse(data.toString('utf8')) as GalleryEntry;
    // `file` is later deleted from the gallery: accept only a plain name.
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

/** Every object an entry can have: its sidecar first, then its image in any output format. */
function entryObjects(name: string): string[] {
  return [`${name}.json`, ...OUTPUT_FORMATS.map((format) => `${name}.${extensionOf(format)}`)];
}

/**
 * Reads every published entry: the sidecars as one listing shows them, each read; `listing` identifies exactly that
 * set of versions. Sidecars already read are remembered by version, so a later read fetches only what changed. The
 * page rebuild reads the gallery through this, and so does the web app.
 */
export function gallerySidecars(gallery: ObjectStore): () => Promise<{ listing: string; entries: GalleryEntry[] }> {
  const read = new Map<string, { version: string; entry?: GalleryEntry }>();
  return async function sidecars() {
    const listed = await gallery.list('', '.json');
    const entries = await Promise.all(
      listed.map(async ({ name, version }) => {
        const known = read.get(name);
        if (known?.version === version) return known.entry;
        const entry = parseEntry(await gallery.get(name));
        read.set(name, { version, entry });
        return entry;
      }),
    );
    const names = new Set(listed.map((o) => o.name));
    for (const name of read.keys()) if (!names.has(name)) read.delete(name);
    return {
      listing: listed.map((o) => `${o.name} ${o.version}`).join('\n'),
      entries: entries.filter((e): e is GalleryEntry => e !== undefined),
    };
  };
}

export function createGalleryShare(deps: { store: BlobStore; gallery: ObjectStore }) {
  const { gallery } = deps;
  const sidecars = gallerySidecars(gallery);

  /**
   * Hosts publish at the same time, and each replaces the page with what it saw. So the page is only ever rendered
   * from a listing of the sidecars, and after writing it the writer lists again: whoever writes the page last has
   * then seen every sidecar written before its final listing, and every sidecar written after that is followed by
   * its own writer's rebuild. Stop once a listing equals the one rendered; under churn that outlasts the attempts,
   * fail retryably: the retry rebuilds again.
   */
  async function writeIndex(): Promise<void> {
    let { listing, entries } = await sidecars();
    for (let attempt = 0; attempt < INDEX_ATTEMPTS; attempt++) {
      const page = Buffer.from(renderGalleryPage(entries));
      const current = await gallery.get(INDEX);
      if (!current?.equals(page)) await gallery.put(INDEX, page, { contentType: 'text/html; charset=utf-8' });
      const now = await sidecars();
      if (now.listing === listing) return;
      ({ listing, entries } = now);
    }
    throw new Error(`gallery ${gallery.location}: ${INDEX} kept changing under concurrent publishes; will retry`);
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
      // The store checked the bytes against the key, which is their sha256.
      const digest = hashOfKey(input.image.key);
      const file = `${name}.${extensionOf(format)}`;
      const sidecar = `${name}.json`;
      await gallery.sweep(entryObjects(name));

      const previous = parseEntry(await gallery.get(sidecar));
      const duplicate =
        previous !== undefined &&
        previous.file === file &&
        previous.sha256 === digest &&
        previous.title === input.title &&
        JSON.stringify(previous.filters) === JSON.stringify(input.filters) &&
        (await gallery.head(file))?.bytes === data.length;
      if (!duplicate) {
        // Image before sidecar: a sidecar never points at a missing image, whatever step a crash interrupts.
        await gallery.put(file, data, { contentType: `image/${format}`, sha256: digest });
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
        await gallery.put(sidecar, Buffer.from(`${JSON.stringify(entry, null, 2)}\n`), {
          contentType: 'application/json',
        });
        // A re-run that changed the format leaves the old image behind otherwise.
        if (previous && previous.file !== file) await gallery.delete(previous.file);
      }
      // Also on a duplicate: the attempt that wrote the sidecar may have crashed before the page was rebuilt.
      await refreshIndex();
      return { target: 'gallery', location: gallery.locationOf(file), idempotencyKey: input.idempotencyKey, duplicate };
    },

    /** Compensation: takes a published image down again. Safe to repeat. */
    async unpublishGallery(input: { idempotencyKey: string }): Promise<boolean> {
      const name = entryName('unpublishGallery', input?.idempotencyKey);
      const objects = entryObjects(name);
      await gallery.sweep(objects);
      const present = new Set((await gallery.list(`${name}.`)).map((o) => o.name));
      // Sidecar first, so the entry leaves the page even if a crash interrupts; then its image, including one whose
      // publish crashed before its sidecar was written.
      const doomed = objects.filter((o) => present.has(o));
      for (const object of doomed) await gallery.delete(object);
      await refreshIndex();
      return doomed.length > 0;
    },
  };
}
