import { extensionOf, type StoredFormat } from '../../src/common/formats';
import { MAX_IMAGE_PIXELS } from '../../src/common/filter-catalog';
import sharp from 'sharp';
import type { BlobStore } from '../../src/lib/blob-store';
import { markPoint } from '../../src/lib/test-markers';
import type { ImageRef, OutputFormat } from '../../src/common/types';

/**
 * Decoding and storing images in the blob store. Between filters, images are kept as raw 8-bit sRGB pixels:
 * lossless and the cheapest to read and write, so a chain of nano-services costs no generation loss.
 */

/**
 * sharp's safety limits, stated so they are visible: pixel count checked from the header (the same limit the
 * workflow holds every step to), warnings fail.
 */
export const DECODE_LIMITS = { limitInputPixels: MAX_IMAGE_PIXELS, failOn: 'warning', limitInputChannels: 5 } as const;

/**
 * libvips' operation cache keeps recent loads open for reuse, and an open JPEG load keeps its decoder: a progressive
 * JPEG's holds every DCT coefficient, about 4 bytes a pixel, which the cache's memory limit does not count. These
 * services never load the same image twice, so the cache only held memory (about 80 MB after one 18-megapixel
 * upload, until later loads pushed it out; BENCHMARKS.md, fifth pass). Off in every process that works on images.
 */
sharp.cache(false);

/**
 * Opens an encoded image (upright by its EXIF orientation) or a raw intermediate. The pipeline works in sRGB even
 * for greyscale input: in a one-band (b-w) pipeline sharp's colour operations lose their colour (tint stays grey,
 * rotate's background turns grey).
 */
export function openBuffer(data: Buffer, ref: Pick<ImageRef, 'format' | 'width' | 'height' | 'channels'>): sharp.Sharp {
  if (ref.format === 'raw') {
    return sharp(data, {
      limitInputPixels: MAX_IMAGE_PIXELS,
      raw: { width: ref.width, height: ref.height, channels: ref.channels as 1 | 2 | 3 | 4 },
    }).pipelineColourspace('srgb');
  }
  return sharp(data, { ...DECODE_LIMITS, autoOrient: true, animated: false }).pipelineColourspace('srgb');
}

export async function openImage(store: BlobStore, ref: ImageRef): Promise<sharp.Sharp> {
  return openBuffer(await store.get(ref.key), ref);
}

export interface RawImage {
  data: Buffer;
  width: number;
  height: number;
  channels: number;
}

/** Runs the pipeline to raw 8-bit sRGB pixels. */
export async function toRaw(image: sharp.Sharp): Promise<RawImage> {
  const { data, info } = await image
    .toColourspace('srgb')
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

/** Encoded or raw pixels ready for the store, described as the image reference will describe them. */
export interface Rendered extends RawImage {
  format: StoredFormat;
}

/** Runs the pipeline to raw pixels: the lossless hand-over between filters. */
export async function renderRaw(image: sharp.Sharp): Promise<Rendered> {
  return { ...(await toRaw(image)), format: 'raw' };
}

/** `quality` applies to the lossy formats only: for PNG, sharp takes it as a request for a lossy palette image. */
export async function encode(image: sharp.Sharp, format: OutputFormat, quality: number): Promise<Buffer> {
  return image.toFormat(format, format === 'png' ? {} : { quality }).toBuffer();
}

export async function renderEncoded(image: sharp.Sharp, format: OutputFormat, quality: number): Promise<Rendered> {
  await markPoint('encode-start');
  const data = await encode(image, format, quality);
  await markPoint('encode-end', { bytes: data.length });
  return describeEncoded(data, format);
}

/** Encoded bytes, described by their own header. */
async function describeEncoded(data: Buffer, format: OutputFormat): Promise<Rendered> {
  const { width = 0, height = 0, channels = 0 } = await sharp(data).metadata();
  return { data, format, width, height, channels };
}

/** Stores bytes already encoded as `format`. */
export async function storeEncodedData(store: BlobStore, data: Buffer, format: OutputFormat): Promise<ImageRef> {
  return storeRendered(store, await describeEncoded(data, format));
}

/** With `scope`, in that run's scratch folder (an intermediate). */
export async function storeRendered(store: BlobStore, { data, ...image }: Rendered, scope?: string): Promise<ImageRef> {
  const blob = await store.put(data, extensionOf(image.format), scope);
  return { ...blob, ...image };
}
