import type { Sharp } from 'sharp';

export function flop(image: Sharp): Sharp {
  return image.flop();
}
