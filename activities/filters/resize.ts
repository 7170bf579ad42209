import type { Sharp } from 'sharp';
import type { FilterParams } from './catalog';

export function resize(image: Sharp, p: FilterParams<'resize'>): Sharp {
  return image.resize({ width: p.width, height: p.height, fit: p.fit, withoutEnlargement: p.withoutEnlargement });
}
