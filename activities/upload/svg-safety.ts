import { invalidInput } from '../../src/common/params';

/**
 * An SVG is XML that can point at other files: entities, <image href>, <use href>, <?xml-stylesheet href?>,
 * xi:include, CSS url() and @import. An uploaded file must never make the worker read a local file or call a URL,
 * so these are rejected before sharp (librsvg) sees the bytes. librsvg already refuses most of them for in-memory
 * input; this check does not depend on how a particular libvips/librsvg build behaves.
 */

const GZIP_MAGIC = [0x1f, 0x8b];

/**
 * libvips treats input as SVG when it reaches "<svg" (any case) walking the bytes as UTF-8 (binary formats are tried
 * first and stop that walk), and it inflates gzip (.svgz) before looking. Every input it could take for an SVG is
 * checked here; other inputs pass through untouched.
 */
export function assertSafeSvg(data: Buffer): void {
  if (data[0] === GZIP_MAGIC[0] && data[1] === GZIP_MAGIC[1]) {
    // Rejected rather than inflated and checked: no accepted format is gzip-wrapped except .svgz, which is rare.
    throw invalidInput(
      'upload: gzip-compressed files (such as .svgz) are not accepted; expected an uncompressed image',
    );
  }
  // One char per byte: every pattern below is ASCII. A photo is never decoded into text: its first byte that UTF-8
  // never uses (a JPEG's first) ends the search, as it ends libvips'.
  const start = data.subarray(0, utf8Horizon(data)).toString('latin1').search(/<svg/i);
  if (start < 0 || !walksTo(data, start)) return;
  const text = data.toString('latin1');
  // Check the text as written and as the XML and CSS parsers will read it, so escapes cannot hide a reference.
  const problem = findHazard(text) ?? findHazard(unescape(text));
  if (problem) {
    throw invalidInput(
      `upload: unsafe SVG: found ${problem}; expected no DOCTYPE, ENTITY or @import, and only same-document ` +
        `'#fragment' references or data:image/(png|jpeg|gif|webp|avif) URIs in href, src and url()`,
    );
  }
}

/** How many bytes UTF-8 gives a character that starts with this byte; 0 where none can start. */
function charLength(lead: number): number {
  if (lead < 0x80) return 1;
  if (lead >= 0xc2 && lead <= 0xdf) return 2;
  if (lead >= 0xe0 && lead <= 0xef) return 3;
  if (lead >= 0xf0 && lead <= 0xf4) return 4;
  return 0;
}

const isContinuation = (byte: number) => (byte & 0xc0) === 0x80;

/**
 * Bytes that no UTF-8 text contains: neither a character's first byte nor one of its others. 0xff first: a JPEG
 * starts with it.
 */
const NEVER_UTF8 = Array.from({ length: 256 }, (_, b) => 255 - b).filter(
  (b) => charLength(b) === 0 && !isContinuation(b),
);

/**
 * The offset of the first byte that is never UTF-8 (or the length). A "<svg" libvips would find lies before it;
 * native scans, and a photo stops the first.
 */
function utf8Horizon(data: Buffer): number {
  let end = data.length;
  for (const byte of NEVER_UTF8) {
    const at = data.subarray(0, end).indexOf(byte);
    if (at >= 0) end = at;
  }
  return end;
}

/**
 * Whether libvips' search reaches `end`. It checks the character at each place it looks, then moves on past the
 * continuation bytes that follow without checking them, so a stray continuation byte (Latin-1 text, which librsvg
 * renders when the XML declares it) does not stop it. This walk checks no more than libvips does (overlong forms and
 * surrogates pass), so it never stops earlier.
 */
function walksTo(data: Buffer, end: number): boolean {
  let i = 0;
  while (i < end) {
    const length = charLength(data[i]);
    if (length === 0) return false;
    for (let k = 1; k < length; k++) if (i + k >= data.length || !isContinuation(data[i + k])) return false;
    i++;
    while (i < data.length && isContinuation(data[i])) i++;
  }
  return true;
}

function findHazard(text: string): string | undefined {
  const declaration = /<!(DOCTYPE|ENTITY)/i.exec(text);
  if (declaration) return `a ${declaration[1].toUpperCase()} declaration`;
  if (/@import/i.test(text)) return 'a CSS @import';
  // Only encodings libxml2 reads the same way as this ASCII-based check (a build with iconv would accept UTF-7).
  const encoding = /<\?xml[^>]*?encoding\s*=\s*["']([^"']*)/i.exec(text);
  if (encoding && !/^(utf-8|us-ascii|iso-8859-1)$/i.test(encoding[1])) return `the text encoding ${encoding[1]}`;
  // href and src with any namespace prefix (xlink:href, a renamed xlink prefix), but not e.g. data-src.
  for (const m of text.matchAll(/(?<![\w.-])(href|src)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]*))/gi)) {
    const ref = m[2] ?? m[3] ?? m[4];
    if (!isLocal(ref)) return `${m[1]}="${clip(ref)}"`;
  }
  for (const m of text.matchAll(/url\(\s*(?:"([^"]*)"|'([^']*)'|([^)]*))/gi)) {
    const ref = m[1] ?? m[2] ?? m[3];
    if (!isLocal(ref)) return `url(${clip(ref)})`;
  }
  return undefined;
}

/**
 * A same-document fragment, or an inline raster image. Other data: URIs (SVG, XML, CSS) are documents that can hold
 * references of their own, possibly base64-encoded where this check cannot see them.
 */
function isLocal(ref: string): boolean {
  const value = ref.trim();
  return value.startsWith('#') || /^data:image\/(png|jpeg|gif|webp|avif)[;,]/i.test(value);
}

/** The text as the XML parser (character references) and then the CSS parser (backslash escapes) read it. */
function unescape(text: string): string {
  const char = (code: number) => (code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : '\uFFFD');
  return text
    .replace(/&#x([0-9a-f]+);/gi, (_, hex: string) => char(parseInt(hex, 16)))
    .replace(/&#([0-9]+);/g, (_, dec: string) => char(parseInt(dec, 10)))
    .replace(/\\([0-9a-f]{1,6})\s?/gi, (_, hex: string) => char(parseInt(hex, 16)))
    .replace(/\\(.)/g, '$1');
}

function clip(value: string): string {
  return value.length > 80 ? `${value.slice(0, 80)}…` : value;
}
