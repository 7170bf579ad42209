import type { Sharp } from 'sharp';
import type { FilterParams } from './catalog';

export function tint(image: Sharp, p: FilterParams<'tint'>): Sharp {
  return image.tint(p.color);
}
