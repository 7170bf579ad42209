import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createUploadActivities } from '../../activities/upload/upload';
import { FileBlobStore } from '../../src/lib/blob-store';
import { solid } from './images';

// Run by test/decoder-memory.test.ts in a process of its own: uploads a small photo (libvips' threads started, its
// code paged in), then a large progressive JPEG, and prints the resident memory after each, in MB.
async function main(): Promise<void> {
  const folder = mkdtempSync(path.join(os.tmpdir(), 'nano-photos-decoder-memory-'));
  try {
    const { upload } = createUploadActivities({
      store: new FileBlobStore(path.join(folder, 'blobs')),
      limits: {
        maxBytes: 50_000_000,
        maxPixels: 100_000_000,
        fetchTimeoutMs: 1000,
        maxRedirects: 0,
        allowedRoots: [folder],
        allowedNetworks: [],
        pixelBudget: 100_000_000,
      },
    });
    const rssAfter = async (name: string, size: { width: number; height: number }) => {
      const file = path.join(folder, name);
      writeFileSync(file, await solid(size).jpeg({ progressive: true }).toBuffer());
      await upload({ path: file });
      await sleep(200);
      return Math.round(process.memoryUsage.rss() / 1e6);
    };
    const small = await rssAfter('small.jpg', { width: 640, height: 480 });
    const large = await rssAfter('large.jpg', { width: 6000, height: 4000 });
    console.log(JSON.stringify({ small, large }));
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

void main();
