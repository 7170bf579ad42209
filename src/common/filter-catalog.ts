// Workflow-safe core: every edit here is a workflow change, covered by the replay test (test/replay.test.ts).
import { OUTPUT_FORMATS } from './formats';
import { invalidInput, parseParams, type Params, type ParamSpecs } from './params';
import type { Size } from './types';

/**
 * Every filter's parameters. Pure data: the workflow validates a whole chain with it before anything runs, the
 * client builds --help from it, and each filter activity validates its own input with its entry.
 */
export const MAX_REQUESTED_SIDE = 16_384;
/**
 * The most pixels any step may read or make: the filter services decode nothing larger, and the workflow refuses a
 * chain that would make something larger at any step, before it runs. 100 megapixels is 400 MB as raw RGBA.
 */
export const MAX_IMAGE_PIXELS = 100_000_000;
const side = (help: string) => ({ type: 'int', min: 1, max: MAX_REQUESTED_SIDE, optional: true, help }) as const;
const offset = (help: string) => ({ type: 'int', min: 0, max: MAX_REQUESTED_SIDE - 1, default: 0, help }) as const;

interface FilterSpec<P extends ParamSpecs = ParamSpecs> {
  summary: string;
  params: P;
  /** A rule across parameters; returns what is wrong, if anything. */
  rule?: (params: Params<P>) => string | undefined;
  /**
   * The size of the image this step makes from an image of `size`, as sharp computes it; absent for steps that
   * keep the size. The workflow follows it through a chain to refuse work that cannot fit before any runs.
   */
  outputSize?: (params: Params<P>, size: Size) => Size;
}

const spec = <const P extends ParamSpecs>(s: FilterSpec<P>) => s;

interface ResizeParams {
  width?: number;
  height?: number;
  fit: 'cover' | 'contain' | 'fill' | 'inside' | 'outside';
  withoutEnlargement: boolean;
}

/** sharp's resize arithmetic (measured against sharp 0.35 in test/image-size.test.ts). */
function resizedSize(p: ResizeParams, input: Size): Size {
  const scaled = (factor: number): Size => ({
    width: Math.max(1, Math.round(input.width * factor)),
    height: Math.max(1, Math.round(input.height * factor)),
  });
  const asked = { width: p.width ?? input.width, height: p.height ?? input.height };
  const both = p.width !== undefined && p.height !== undefined;
  const xScale = (p.width ?? 0) / input.width;
  const yScale = (p.height ?? 0) / input.height;
  let target: Size;
  if (both && (p.fit === 'fill' || p.fit === 'cover' || p.fit === 'contain')) target = asked;
  else if (both) target = scaled((p.fit === 'inside' ? Math.min : Math.max)(xScale, yScale));
  // One side given: fill leaves the other side alone, every other fit keeps the aspect ratio.
  else if (p.fit === 'fill') target = asked;
  else
    target = {
      ...scaled(p.width !== undefined ? xScale : yScale),
      ...(p.width ? { width: p.width } : { height: p.height! }),
    };
  if (!p.withoutEnlargement) return target;
  // contain still pads to the sides asked for; the other fits never grow past the input.
  if (p.fit === 'contain') return both || (p.width !== undefined ? xScale : yScale) <= 1 ? target : asked;
  return { width: Math.min(target.width, input.width), height: Math.min(target.height, input.height) };
}

/** The bounding box of the turned image: libvips enlarges the canvas so that no corner is cut off. */
function rotatedSize(p: { angle: number }, input: Size): Size {
  const radians = (p.angle * Math.PI) / 180;
  const cos = Math.abs(Math.cos(radians));
  const sin = Math.abs(Math.sin(radians));
  return {
    width: Math.round(input.width * cos + input.height * sin),
    height: Math.round(input.width * sin + input.height * cos),
  };
}

export const filterCatalog = {
  resize: spec({
    summary: 'Scale to a width and/or height (keeps the aspect ratio unless fit=fill)',
    params: {
      width: side('Target width in pixels'),
      height: side('Target height in pixels'),
      fit: {
        type: 'enum',
        values: ['cover', 'contain', 'fill', 'inside', 'outside'],
        default: 'inside',
        help: 'How to fit both sides',
      },
      withoutEnlargement: { type: 'boolean', default: false, help: 'Never make the image larger' },
    },
    rule: (p) => (p.width === undefined && p.height === undefined ? 'expected width or height (or both)' : undefined),
    outputSize: resizedSize,
  }),
  crop: spec({
    summary: 'Cut out a rectangle (it must lie within the image)',
    params: {
      left: offset('Left edge in pixels'),
      top: offset('Top edge in pixels'),
      width: { type: 'int', min: 1, max: MAX_REQUESTED_SIDE, help: 'Width of the rectangle' },
      height: { type: 'int', min: 1, max: MAX_REQUESTED_SIDE, help: 'Height of the rectangle' },
    },
    outputSize: (p) => ({ width: p.width, height: p.height }),
  }),
  rotate: spec({
    summary: 'Rotate by an angle in degrees, clockwise; corners filled with a background colour',
    params: {
      angle: { type: 'number', min: -360, max: 360, help: 'Degrees, clockwise' },
      background: { type: 'color', default: '#000000', help: 'Fill for uncovered corners' },
    },
    outputSize: rotatedSize,
  }),
  flip: spec({ summary: 'Mirror top to bottom', params: {} }),
  flop: spec({ summary: 'Mirror left to right', params: {} }),
  grayscale: spec({ summary: 'Black and white', params: {} }),
  sepia: spec({ summary: 'Warm brown old-photo tone', params: {} }),
  blur: spec({
    summary: 'Gaussian blur',
    params: { sigma: { type: 'number', min: 0.3, max: 1000, default: 3, help: 'Blur radius (sigma)' } },
  }),
  sharpen: spec({
    summary: 'Unsharp-mask sharpening',
    params: { sigma: { type: 'number', min: 0.000001, max: 10, default: 1, help: 'Sharpening radius (sigma)' } },
  }),
  modulate: spec({
    summary: 'Change brightness, saturation and hue',
    params: {
      brightness: { type: 'number', min: 0, max: 10, default: 1, help: 'Multiplier, 1 keeps it' },
      saturation: { type: 'number', min: 0, max: 10, default: 1, help: 'Multiplier, 1 keeps it' },
      hue: { type: 'int', min: -360, max: 360, default: 0, help: 'Rotation in degrees' },
    },
  }),
  tint: spec({
    summary: 'Colourise towards a colour, keeping luminance',
    params: { color: { type: 'color', help: 'The tint colour' } },
  }),
  watermark: spec({
    summary: 'Draw a text mark in a corner',
    params: {
      text: { type: 'string', maxLength: 200, help: 'The text to draw' },
      gravity: {
        type: 'enum',
        values: ['southeast', 'southwest', 'northeast', 'northwest', 'center'],
        default: 'southeast',
        help: 'Where to put it',
      },
      size: { type: 'int', min: 1, max: 50, default: 4, help: 'Text height in percent of the image height' },
      opacity: { type: 'number', min: 0, max: 1, default: 0.7, help: '0 is invisible, 1 is opaque' },
      color: { type: 'color', default: '#ffffff', help: 'Text colour' },
    },
  }),
  thumbnail: spec({
    summary: 'A square thumbnail, cropped to the most interesting part',
    params: { size: { type: 'int', min: 8, max: 1024, default: 256, help: 'Side length in pixels' } },
    outputSize: (p) => ({ width: p.size, height: p.size }),
  }),
  output: spec({
    summary: 'Encode the final image (always the last step; added with the original format if missing)',
    params: {
      format: { type: 'enum', values: OUTPUT_FORMATS, optional: true, help: 'Output format' },
      quality: { type: 'int', min: 1, max: 100, default: 82, help: 'Quality for lossy formats' },
    },
  }),
} as const;

export type FilterName = keyof typeof filterCatalog;
export type FilterParams<F extends FilterName> = Params<(typeof filterCatalog)[F]['params']>;

export const filterNames = Object.keys(filterCatalog) as FilterName[];

export function isFilterName(name: unknown): name is FilterName {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(filterCatalog, name);
}

/** The size of the image `filter` makes from one of `size` (parameters already validated). */
export function filterOutputSize<F extends FilterName>(filter: F, params: FilterParams<F>, size: Size): Size {
  const entry = filterCatalog[filter] as FilterSpec;
  return entry.outputSize ? entry.outputSize(params, size) : { width: size.width, height: size.height };
}

/** Validates one filter's parameters: a non-retryable InvalidInput failure says exactly what is wrong. */
export function parseFilterParams<F extends FilterName>(filter: F, raw: unknown): FilterParams<F> {
  const entry = filterCatalog[filter] as FilterSpec;
  const params = parseParams(filter, entry.params, raw);
  const broken = entry.rule?.(params);
  if (broken) throw invalidInput(`${filter}: ${broken}`);
  return params as FilterParams<F>;
}
