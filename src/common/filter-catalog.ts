// Workflow-safe core: every edit here is a workflow change, covered by the replay test (test/replay.test.ts).
import { OUTPUT_FORMATS } from './formats';
import { invalidInput, parseParams, type Params, type ParamSpecs } from './params';

/**
 * Every filter's parameters. Pure data: the workflow validates a whole chain with it before anything runs, the
 * client builds --help from it, and each filter activity validates its own input with its entry.
 */
export const MAX_REQUESTED_SIDE = 16_384;
const side = (help: string) => ({ type: 'int', min: 1, max: MAX_REQUESTED_SIDE, optional: true, help }) as const;
const offset = (help: string) => ({ type: 'int', min: 0, max: MAX_REQUESTED_SIDE - 1, default: 0, help }) as const;

interface FilterSpec<P extends ParamSpecs = ParamSpecs> {
  summary: string;
  params: P;
  /** A rule across parameters; returns what is wrong, if anything. */
  rule?: (params: Params<P>) => string | undefined;
}

const spec = <const P extends ParamSpecs>(s: FilterSpec<P>) => s;

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
  }),
  crop: spec({
    summary: 'Cut out a rectangle (it must lie within the image)',
    params: {
      left: offset('Left edge in pixels'),
      top: offset('Top edge in pixels'),
      width: { type: 'int', min: 1, max: MAX_REQUESTED_SIDE, help: 'Width of the rectangle' },
      height: { type: 'int', min: 1, max: MAX_REQUESTED_SIDE, help: 'Height of the rectangle' },
    },
  }),
  rotate: spec({
    summary: 'Rotate by an angle in degrees, clockwise; corners filled with a background colour',
    params: {
      angle: { type: 'number', min: -360, max: 360, help: 'Degrees, clockwise' },
      background: { type: 'color', default: '#000000', help: 'Fill for uncovered corners' },
    },
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

/** Validates one filter's parameters: a non-retryable InvalidInput failure says exactly what is wrong. */
export function parseFilterParams<F extends FilterName>(filter: F, raw: unknown): FilterParams<F> {
  const entry = filterCatalog[filter] as FilterSpec;
  const params = parseParams(filter, entry.params, raw);
  const broken = entry.rule?.(params);
  if (broken) throw invalidInput(`${filter}: ${broken}`);
  return params as FilterParams<F>;
}
