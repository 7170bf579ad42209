import type { Sharp } from 'sharp';
import type { FilterParams } from './catalog';

/** Square, cropped by sharp's attention strategy so faces and detail stay in frame. */
export function thumbnail(image: Sharp, p: FilterParams<'thumbnail'>): Sharp {
  return image.resize({ width: p.size, height: p.size, fit: 'cover', position: 'attention' });
}
