import type { Sharp } from 'sharp';
import type { FilterParams } from './catalog';

export function modulate(image: Sharp, p: FilterParams<'modulate'>): Sharp {
  return image.modulate({ brightness: p.brightness, saturation: p.saturation, hue: p.hue });
}
