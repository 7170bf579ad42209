import type { Sharp } from 'sharp';
import type { FilterParams } from './catalog';

export function sharpen(image: Sharp, p: FilterParams<'sharpen'>): Sharp {
  return image.sharpen({ sigma: p.sigma });
}
