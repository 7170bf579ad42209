import type { Sharp } from 'sharp';
import type { FilterParams } from './catalog';

export function rotate(image: Sharp, p: FilterParams<'rotate'>): Sharp {
  return image.rotate(p.angle, { background: p.background });
}
