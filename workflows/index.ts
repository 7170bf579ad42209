// The workflow bundle's entry point: every workflow type the worker registers.
export { processPhoto, progressQuery } from './process-photo';
export { reviewUpdate } from './review';
export { processAlbum, albumProgressQuery } from './process-album';
export { sweepStore } from './sweep-store';
