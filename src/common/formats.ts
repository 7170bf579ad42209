// Workflow-safe core: every edit here is a workflow change, covered by the replay test (test/replay.test.ts).

/** Every format the upload service accepts, as sharp names it (AVIF under its own name, see formatOf). */
export const IMAGE_FORMATS = ['jpeg', 'png', 'webp', 'avif', 'gif', 'tiff', 'heif', 'svg'] as const;
export type ImageFormat = (typeof IMAGE_FORMATS)[number];

/** The formats the `output` step writes. */
export const OUTPUT_FORMATS = ['jpeg', 'png', 'webp', 'avif'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** `raw` marks lossless intermediates between filters: 8-bit pixels described by the image reference. */
export type StoredFormat = ImageFormat | 'raw';

/** The longest side each output format can be written with (libvips: WebP 16383, HEIF 16384, JPEG 65500). */
export const MAX_OUTPUT_SIDE: Record<OutputFormat, number> = { jpeg: 65_500, png: 65_535, webp: 16_383, avif: 16_384 };

export function isOutputFormat(format: unknown): format is OutputFormat {
  return (OUTPUT_FORMATS as readonly unknown[]).includes(format);
}

/** The file extension for a format: blob keys and gallery files use the familiar `jpg`. */
export function extensionOf(format: StoredFormat): string {
  return format === 'jpeg' ? 'jpg' : format;
}

/** A format from sharp's metadata: libheif reports AVIF as HEIF compressed with AV1, and AVIF stays AVIF. */
export function formatOf(meta: { format?: string; compression?: string }): string | undefined {
  return meta.format === 'heif' && meta.compression === 'av1' ? 'avif' : meta.format;
}

/** The output format when the user names none: the upload's own, if we can write it; PNG otherwise (keeps alpha). */
export function defaultOutputFormat(source: StoredFormat): OutputFormat {
  return isOutputFormat(source) ? source : 'png';
}
