import type { Sharp } from 'sharp';
import type { FilterParams } from './catalog';

export function blur(image: Sharp, p: FilterParams<'blur'>): Sharp {
  return image.blur(p.sigma);
}
