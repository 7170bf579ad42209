import { invalidInput } from '../../src/common/params';
import type { OperationFamily } from './operation';

/** Operations that change the image's shape: size, crop, rotation, mirroring. */
export const geometry = {
  resize: (image, p) =>
    image.resize({ width: p.width, height: p.height, fit: p.fit, withoutEnlargement: p.withoutEnlargement }),

  /** The rectangle must lie inside the image: only known once the image is, so checked here rather than up front. */
  crop: (image, p, size) => {
    if (p.left + p.width > size.width || p.top + p.height > size.height) {
      throw invalidInput(
        `crop: expected the rectangle left=${p.left} top=${p.top} width=${p.width} height=${p.height} to lie within ` +
          `the ${size.width}x${size.height} image`,
      );
    }
    return image.extract({ left: p.left, top: p.top, width: p.width, height: p.height });
  },

  rotate: (image, p) => image.rotate(p.angle, { background: p.background }),
  flip: (image) => image.flip(),
  flop: (image) => image.flop(),

  /** Square, cropped by sharp's attention strategy so faces and detail stay in frame. */
  thumbnail: (image, p) => image.resize({ width: p.size, height: p.size, fit: 'cover', position: 'attention' }),
} satisfies OperationFamily;
