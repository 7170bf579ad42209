import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { samplePhotos } from '../../src/lib/sample-photos';

/** Real photographs for tests of image work at full size: the Debian photos the demo and the benchmark use. */

export interface Photo {
  file: string;
  width: number;
  height: number;
}

const megapixels = (p: { width: number; height: number }) => (p.width * p.height) / 1e6;

/** The largest sample photograph, which must have at least `minMegapixels` (the Debian set's largest has 17.9). */
export async function largestPhoto(minMegapixels = 12): Promise<Photo> {
  const photos = await Promise.all(
    (await samplePhotos()).map(async (file) => {
      const { autoOrient } = await sharp(file).metadata();
      return { file, ...autoOrient };
    }),
  );
  const largest = photos.reduce((a, b) => (megapixels(b) > megapixels(a) ? b : a));
  if (megapixels(largest) < minMegapixels) {
    throw new Error(
      `the largest sample photo, ${largest.file}, has ${megapixels(largest).toFixed(1)} MP; this test needs a ` +
        `photograph of at least ${minMegapixels} MP: the Debian package mate-backgrounds (fetched with apt-get ` +
        'download on first use, see src/lib/sample-photos.ts) or a folder of your own in .temporal/photos',
    );
  }
  return largest;
}

/**
 * `count` different photographs of `min`–`max` megapixels, cut from `source` (sizes spread evenly over the
 * range, each at its own place) and saved as JPEG (quality 90) in `dir`: real photographic detail, each its own
 * content, so a run that got another run's photo or output shows.
 */
export async function photoCrops(source: Photo, count: number, dir: string, min = 12, max = 18): Promise<Photo[]> {
  const aspect = source.width / source.height;
  const top = Math.min(max, megapixels(source));
  const { data, info } = await sharp(source.file).autoOrient().raw().toBuffer({ resolveWithObject: true });
  const crops: Photo[] = [];
  for (let i = 0; i < count; i++) {
    // From just above `min` to just below the top, so every crop lands inside the range after rounding.
    const mp = min + 0.01 + ((top - min - 0.02) * i) / Math.max(1, count - 1);
    const width = Math.min(source.width, Math.round(Math.sqrt(mp * 1e6 * aspect)));
    const height = Math.min(source.height, Math.ceil((mp * 1e6) / width));
    const left = Math.round(((source.width - width) * ((i * 7) % count)) / count);
    const cropTop = Math.round(((source.height - height) * ((i * 3) % count)) / count);
    const file = path.join(dir, `crop-${String(i).padStart(2, '0')}.jpg`);
    const raw = { width: info.width, height: info.height, channels: info.channels };
    await writeFile(
      file,
      await sharp(data, { raw }).extract({ left, top: cropTop, width, height }).jpeg({ quality: 90 }).toBuffer(),
    );
    crops.push({ file, width, height });
  }
  return crops;
}
