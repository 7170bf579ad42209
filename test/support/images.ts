import { crc32 } from 'node:zlib';
import sharp from 'sharp';

/**
 * Test images, generated with sharp when a test runs so the repository holds no binary fixtures. Every function
 * returns the encoded bytes. Images are noisy by default: noise keeps encoders from shrinking them to a few bytes,
 * so cutting a file short cuts into pixel data, as a real interrupted transfer would.
 */

export interface Size {
  width: number;
  height: number;
}

export const DEFAULT_SIZE: Size = { width: 64, height: 48 };

/** A noisy RGB (or RGBA) canvas to encode; the starting point of the other helpers. */
export function canvas({ width, height }: Size = DEFAULT_SIZE, channels: 3 | 4 = 3): sharp.Sharp {
  return sharp({
    create: { width, height, channels, background: '#336699', noise: { type: 'gaussian', mean: 128, sigma: 40 } },
  });
}

/** A single-colour image: compresses extremely well, so large dimensions still make a small file. */
export function solid({ width, height }: Size, colour = '#336699'): sharp.Sharp {
  return sharp({ create: { width, height, channels: 3, background: colour } });
}

/**
 * A single-colour PNG (2-colour palette, maximum compression): even 4000 x 4000 is a few KB. A real decompression
 * bomb in miniature, for tests that lower maxPixels.
 */
export async function flatPng(size: Size): Promise<Buffer> {
  return solid(size).png({ palette: true, colours: 2, compressionLevel: 9 }).toBuffer();
}

/** An 8-bit sRGB JPEG. With `orientation`, an EXIF Orientation tag (6 = shown rotated 90 degrees clockwise). */
export async function jpeg(size: Size = DEFAULT_SIZE, orientation?: number): Promise<Buffer> {
  const image = canvas(size).jpeg();
  return (orientation ? image.withMetadata({ orientation }) : image).toBuffer();
}

/** A 4-channel CMYK JPEG, as print workflows produce. */
export async function cmykJpeg(size: Size = DEFAULT_SIZE): Promise<Buffer> {
  return canvas(size).toColourspace('cmyk').jpeg().toBuffer();
}

/** A JPEG cut to `fraction` of its length: the header is intact, the pixel data is not. */
export async function truncatedJpeg(size: Size = { width: 400, height: 300 }, fraction = 0.6): Promise<Buffer> {
  const whole = await jpeg(size);
  return whole.subarray(0, Math.floor(whole.length * fraction));
}

export async function png(size: Size = DEFAULT_SIZE): Promise<Buffer> {
  return canvas(size).png().toBuffer();
}

/** 16 bits per channel RGB. */
export async function png16(size: Size = DEFAULT_SIZE): Promise<Buffer> {
  return canvas(size).toColourspace('rgb16').png().toBuffer();
}

/** RGBA with partly transparent pixels. */
export async function pngWithAlpha(size: Size = DEFAULT_SIZE): Promise<Buffer> {
  return canvas(size, 4).png().toBuffer();
}

/** Single-channel greyscale. */
export async function grayscalePng(size: Size = DEFAULT_SIZE): Promise<Buffer> {
  return canvas(size).toColourspace('b-w').png().toBuffer();
}

/** A single-frame image in any format sharp writes (webp, avif, tiff, gif, ...). */
export async function encoded(
  format: 'jpeg' | 'png' | 'webp' | 'avif' | 'tiff' | 'gif',
  size: Size = DEFAULT_SIZE,
): Promise<Buffer> {
  return canvas(size).toFormat(format).toBuffer();
}

/** An animated GIF or WebP of `frames` solid frames (red, green, blue, ...), each `size`. */
export async function animated(format: 'gif' | 'webp', frames = 3, size: Size = DEFAULT_SIZE): Promise<Buffer> {
  const colours = ['#ff0000', '#00ff00', '#0000ff'];
  const stills = await Promise.all(
    Array.from({ length: frames }, (_, i) =>
      solid(size, colours[i % colours.length])
        .png()
        .toBuffer(),
    ),
  );
  return sharp(stills, { join: { animated: true } })
    .toFormat(format)
    .toBuffer();
}

/**
 * A tiny PNG whose header claims `width` x `height`: a decompression bomb as far as any header check can tell,
 * without the cost of compressing gigabytes of pixels. (Generated with sharp, then the IHDR chunk is rewritten.)
 */
export async function pngClaiming(width: number, height: number): Promise<Buffer> {
  const bytes = Buffer.from(await solid({ width: 1, height: 1 }).png().toBuffer());
  // Layout: 8-byte signature, then IHDR: length (4), type (4) at 12, width (4) at 16, height (4) at 20, ..., CRC at 29.
  bytes.writeUInt32BE(width, 16);
  bytes.writeUInt32BE(height, 20);
  bytes.writeUInt32BE(crc32(bytes.subarray(12, 29)), 29);
  return bytes;
}

/** An SVG document of the given size around `body` (SVG markup); the default body is a plain red rectangle. */
export function svg(
  body = '<rect width="100%" height="100%" fill="red"/>',
  size: Size = DEFAULT_SIZE,
  prolog = '',
): Buffer {
  return Buffer.from(
    `${prolog}<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" ` +
      `width="${size.width}" height="${size.height}">${body}</svg>\n`,
  );
}

/** A JPEG carrying a camera make and a GPS position in its EXIF (the Eiffel Tower), as phones write them. */
export async function gpsTaggedJpeg(size: Size = DEFAULT_SIZE): Promise<Buffer> {
  return canvas(size)
    .jpeg()
    .withExif({
      IFD0: { Make: 'NanoPhone', Model: 'Test 1' },
      IFD3: {
        GPSLatitudeRef: 'N',
        GPSLatitude: '48/1 51/1 2980/100',
        GPSLongitudeRef: 'E',
        GPSLongitude: '2/1 17/1 4020/100',
      },
    })
    .toBuffer();
}

/**
 * The tag numbers in the GPS directory of an EXIF block as sharp's metadata() returns it ("Exif\0\0" and a TIFF
 * structure), or [] if it has none: read here rather than trusted to the library that wrote them.
 */
export function exifGpsTags(exif: Buffer | undefined): number[] {
  if (!exif) return [];
  const tiff = exif.subarray(exif.subarray(0, 6).toString('latin1') === 'Exif\0\0' ? 6 : 0);
  const little = tiff.toString('latin1', 0, 2) === 'II';
  const u16 = (at: number) => (little ? tiff.readUInt16LE(at) : tiff.readUInt16BE(at));
  const u32 = (at: number) => (little ? tiff.readUInt32LE(at) : tiff.readUInt32BE(at));
  const entries = (ifd: number) =>
    Array.from({ length: u16(ifd) }, (_, i) => ({ tag: u16(ifd + 2 + i * 12), value: u32(ifd + 2 + i * 12 + 8) }));
  const gps = entries(u32(4)).find((e) => e.tag === 0x8825); // GPSInfo: the offset of the GPS directory
  return gps ? entries(gps.value).map((e) => e.tag) : [];
}
