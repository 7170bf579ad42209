import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { findOnPath, say } from '../provision/executables';
import { stateDir } from './paths';

/** Real photographs for the demo and the benchmark, kept out of git in the project's state folder. */
export const samplePhotoDir = path.join(stateDir, 'photos');

const isJpeg = (name: string) => /\.jpe?g$/i.test(name);

function listJpegs(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter(isJpeg)
    .map((name) => path.join(dir, name))
    .filter((file) => statSync(file).isFile())
    .sort();
}

/**
 * Debian's mate-backgrounds package holds real photographs (up to 5640x3172). `apt-get download` fetches the .deb
 * without installing anything and without root; dpkg -x unpacks it into a temporary folder.
 */
function fetchDebianPhotos(): boolean {
  if (!findOnPath('apt-get') || !findOnPath('dpkg')) return false;
  say('Fetching real photographs (Debian package mate-backgrounds, about 16 MB)...');
  const work = mkdtempSync(path.join(os.tmpdir(), 'nano-photos-'));
  try {
    const download = spawnSync('apt-get', ['download', 'mate-backgrounds'], {
      cwd: work,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const deb = readdirSync(work).find((f) => f.endsWith('.deb'));
    if (download.status !== 0 || !deb) return false;
    const unpacked = path.join(work, 'x');
    if (spawnSync('dpkg', ['-x', path.join(work, deb), unpacked]).status !== 0) return false;
    mkdirSync(samplePhotoDir, { recursive: true });
    for (const file of listJpegs(unpacked)) renameSync(file, path.join(samplePhotoDir, path.basename(file)));
    return listJpegs(samplePhotoDir).length > 0;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** A stand-in when no real photos can be had: a 12-megapixel gradient with shapes, as JPEG. */
async function generatePhoto(file: string): Promise<void> {
  const width = 4240;
  const height = 2832;
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
    <defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1">
      <stop offset="0" stop-color="#1d4e89"/><stop offset="0.6" stop-color="#f4a259"/><stop offset="1" stop-color="#bc4b51"/>
    </linearGradient></defs>
    <rect width="100%" height="100%" fill="url(#g)"/>
    <circle cx="${width * 0.7}" cy="${height * 0.3}" r="${height * 0.15}" fill="#fff3b0"/>
    <path d="M0 ${height} L${width * 0.3} ${height * 0.55} L${width * 0.55} ${height * 0.8} L${width * 0.8} ${height * 0.5} L${width} ${height} Z" fill="#335c67"/>
  </svg>`;
  mkdirSync(path.dirname(file), { recursive: true });
  await sharp(Buffer.from(svg)).jpeg({ quality: 90 }).toFile(file);
}

/** JPEG photos to work on: the user's folder, the cached Debian photos, freshly fetched ones, or a generated one. */
export async function samplePhotos(userDir?: string): Promise<string[]> {
  if (userDir) {
    const photos = listJpegs(path.resolve(userDir));
    if (photos.length === 0) throw new Error(`no .jpg or .jpeg files in ${userDir}`);
    return photos;
  }
  if (listJpegs(samplePhotoDir).length > 0 || fetchDebianPhotos()) return listJpegs(samplePhotoDir);
  const generated = path.join(samplePhotoDir, 'generated', 'sunset-12mp.jpg');
  say('No real photographs could be fetched; generating a 12-megapixel stand-in.');
  await generatePhoto(generated);
  return [generated];
}
