import sharp from 'sharp';
import type { OperationFamily } from './operation';

/** The classic sepia matrix (Microsoft's), applied to RGB; alpha passes through. */
const SEPIA: [[number, number, number], [number, number, number], [number, number, number]] = [
  [0.393, 0.769, 0.189],
  [0.349, 0.686, 0.168],
  [0.272, 0.534, 0.131],
];

/** Operations that change colours and tone, never the shape. */
export const colour = {
  /**
   * sharp's raw output of a greyscale pipeline keeps only the grey band, dropping any alpha channel; so an image with
   * alpha gets its grey and its alpha rendered separately and joined again, keeping its transparency.
   */
  grayscale: async (image) => {
    if (!(await image.metadata()).hasAlpha) return image.grayscale();
    const [grey, alpha] = await Promise.all([
      image.clone().grayscale().raw().toBuffer({ resolveWithObject: true }),
      image.clone().extractChannel('alpha').raw().toBuffer(),
    ]);
    const raw = { width: grey.info.width, height: grey.info.height, channels: 1 } as const;
    return sharp(grey.data, { raw }).joinChannel(alpha, { raw });
  },

  sepia: (image) => image.recomb(SEPIA),
  modulate: (image, p) => image.modulate({ brightness: p.brightness, saturation: p.saturation, hue: p.hue }),
  tint: (image, p) => image.tint(p.color),
} satisfies OperationFamily;
