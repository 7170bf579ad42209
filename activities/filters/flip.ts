import type { Sharp } from 'sharp';

export function flip(image: Sharp): Sharp {
  return image.flip();
}
