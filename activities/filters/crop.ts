import type { Sharp } from 'sharp';
import { invalidInput } from '../params';
import type { FilterParams } from './catalog';
import type { Size } from './size';

/** The rectangle must lie inside the image: only known once the image is, so checked here rather than up front. */
export function crop(image: Sharp, p: FilterParams<'crop'>, size: Size): Sharp {
  if (p.left + p.width > size.width || p.top + p.height > size.height) {
    throw invalidInput(
      `crop: expected the rectangle left=${p.left} top=${p.top} width=${p.width} height=${p.height} to lie within ` +
        `the ${size.width}x${size.height} image`,
    );
  }
  return image.extract({ left: p.left, top: p.top, width: p.width, height: p.height });
}
