import type { Sharp } from 'sharp';

/** The classic sepia matrix (Microsoft's), applied to RGB; alpha passes through. */
const SEPIA: [[number, number, number], [number, number, number], [number, number, number]] = [
  [0.393, 0.769, 0.189],
  [0.349, 0.686, 0.168],
  [0.272, 0.534, 0.131],
];

export function sepia(image: Sharp): Sharp {
  return image.recomb(SEPIA);
}
