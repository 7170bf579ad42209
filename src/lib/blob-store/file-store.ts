import { mkdir, readdir, readFile, rm, stat, utimes } from 'node:fs/promises';
import path from 'node:path';
import { PARTIAL_SUFFIX, sweepDeadPartials, writeAtomic } from '../atomic-write';
import { checkName, isName, type ObjectInfo, type ObjectStore } from './types';

function missing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/**
 * The file driver: objects are files below a folder (the default, embedded store: nothing to set up). Writes go to
 * a partial file first and are renamed into place, so a reader never sees half an object.
 */
export class FileObjectStore implements ObjectStore {
  readonly root: string;

  constructor(root: string) {
    this.root = path.resolve(root);
  }

  get location(): string {
    return this.root;
  }

  locationOf(name: string): string {
    return path.join(this.root, checkName(name));
  }

  async get(name: string): Promise<Buffer | undefined> {
    return readFile(this.locationOf(name)).catch((err) => {
      if (missing(err)) return undefined;
      throw err;
    });
  }

  async head(name: string): Promise<ObjectInfo | undefined> {
    try {
      const s = await stat(this.locationOf(name));
      // A rename replaces the inode: with the mtime this tells every rewrite apart.
      return s.isFile()
        ? { name, bytes: s.size, version: `${s.ino}-${s.mtimeMs}-${s.size}`, modified: s.mtime }
        : undefined;
    } catch (err) {
      if (missing(err)) return undefined;
      throw err;
    }
  }

  async put(name: string, data: Buffer): Promise<void> {
    const file = this.locationOf(name);
    await mkdir(path.dirname(file), { recursive: true });
    await writeAtomic(file, data);
  }

  async delete(name: string): Promise<void> {
    await rm(this.locationOf(name), { force: true });
  }

  async list(prefix = '', suffix = ''): Promise<ObjectInfo[]> {
    const slash = prefix.lastIndexOf('/');
    const folder = prefix.slice(0, slash + 1);
    const start = prefix.slice(slash + 1);
    if (folder) checkName(folder.slice(0, -1));
    let files: string[];
    try {
      files = (await readdir(path.join(this.root, folder), { withFileTypes: true }))
        .filter(
          (e) => e.isFile() && e.name.startsWith(start) && e.name.endsWith(suffix) && !e.name.endsWith(PARTIAL_SUFFIX),
        )
        .map((e) => e.name);
    } catch (err) {
      if (missing(err)) return [];
      throw err;
    }
    const infos = await Promise.all(files.sort().map((f) => this.head(`${folder}${f}`)));
    // A file removed between readdir and stat is simply not there any more.
    return infos.filter((info): info is ObjectInfo => info !== undefined);
  }

  async listAll(prefix = ''): Promise<ObjectInfo[]> {
    const folder = prefix.slice(0, prefix.lastIndexOf('/') + 1);
    if (folder) checkName(folder.slice(0, -1));
    let names: string[];
    try {
      names = (await readdir(path.join(this.root, folder), { recursive: true, withFileTypes: true }))
        .filter((e) => e.isFile() && !e.name.endsWith(PARTIAL_SUFFIX))
        .map((e) => path.relative(this.root, path.join(e.parentPath, e.name)).split(path.sep).join('/'))
        // Only names this project makes: anything else in the folder is not one of its objects.
        .filter((name) => name.startsWith(prefix) && isName(name));
    } catch (err) {
      if (missing(err)) return [];
      throw err;
    }
    const infos = await Promise.all(names.sort().map((name) => this.head(name)));
    return infos.filter((info): info is ObjectInfo => info !== undefined);
  }

  async touch(name: string): Promise<void> {
    const now = new Date();
    await utimes(this.locationOf(name), now, now);
  }

  async deleteFolder(folder: string): Promise<ObjectInfo[]> {
    const removed = await this.listAll(`${checkName(folder)}/`);
    // The folder whole: with its objects go partial files a killed writer left there.
    await rm(this.locationOf(folder), { recursive: true, force: true });
    return removed;
  }

  /** Removes what writers of these objects on this machine left when they were killed mid-write. */
  async sweep(names: readonly string[]): Promise<void> {
    await Promise.all(
      names.map((name) =>
        sweepDeadPartials(this.locationOf(name)).catch((err) => {
          if (!missing(err)) throw err;
        }),
      ),
    );
  }
}
