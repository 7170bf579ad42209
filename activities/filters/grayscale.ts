import sharp, { type Sharp } from 'sharp';

/**
 * sharp's raw output of a greyscale pipeline keeps only the grey band, dropping any alpha channel; so an image with
 * alpha gets its grey and its alpha rendered separately and joined again, keeping its transparency.
 */
export async function grayscale(image: Sharp): Promise<Sharp> {
  if (!(await image.metadata()).hasAlpha) return image.grayscale();
  const [grey, alpha] = await Promise.all([
    image.clone().grayscale().raw().toBuffer({ resolveWithObject: true }),
    image.clone().extractChannel('alpha').raw().toBuffer(),
  ]);
  const raw = { width: grey.info.width, height: grey.info.height, channels: 1 } as const;
  return sharp(grey.data, { raw }).joinChannel(alpha, { raw });
}
