import sharp from 'sharp';
import type { OperationFamily } from './operation';

const escapeXml = (text: string) =>
  text.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!);

/** Operations that draw on top of the image. */
export const overlay = {
  /**
   * Renders the text as an SVG overlay the size of the image, so placement and scale follow the image, and
   * composites it. The text is escaped: it comes from users.
   */
  watermark: async (image, p, size) => {
    const fontSize = Math.max(8, Math.round((size.height * p.size) / 100));
    const margin = Math.round(fontSize * 0.6);
    const right = p.gravity.endsWith('east');
    const x = p.gravity === 'center' ? size.width / 2 : right ? size.width - margin : margin;
    const y =
      p.gravity === 'center'
        ? size.height / 2
        : p.gravity.startsWith('south')
          ? size.height - margin
          : margin + fontSize;
    const anchor = p.gravity === 'center' ? 'middle' : right ? 'end' : 'start';
    const svg =
      `<svg xmlns="http://www.w3.org/2000/svg" width="${size.width}" height="${size.height}">` +
      `<text x="${x}" y="${y}" font-family="sans-serif" font-size="${fontSize}" fill="${p.color}" ` +
      `fill-opacity="${p.opacity}" text-anchor="${anchor}">${escapeXml(p.text)}</text></svg>`;
    const mark = await sharp(Buffer.from(svg)).png().toBuffer();
    return image.composite([{ input: mark, top: 0, left: 0 }]);
  },
} satisfies OperationFamily;
