import type { Sharp } from 'sharp';

export function grayscale(image: Sharp): Sharp {
  return image.grayscale();
}
