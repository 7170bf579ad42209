/** The dimensions of the image a filter receives, for filters whose work depends on them. */
export interface Size {
  width: number;
  height: number;
}
