import type { FilterStep } from '../common/types';
import type { ShareTarget } from '../common/workflow-io';

/**
 * The photo job every mode runs, from the issue: resize to 2048 wide, sepia, sharpen, watermark, JPEG output, and a
 * gallery share. Six steps after the upload.
 */
export const WORKLOAD_FILTERS: FilterStep[] = [
  { filter: 'resize', params: { width: 2048 } },
  { filter: 'sepia' },
  { filter: 'sharpen' },
  { filter: 'watermark', params: { text: '© nano-photos bench' } },
  { filter: 'output', params: { format: 'jpeg', quality: 82 } },
];
export const WORKLOAD_SHARE: ShareTarget[] = ['gallery'];
export const WORKLOAD_LABEL = 'resize 2048w → sepia → sharpen → watermark → JPEG q82 → gallery';

/** The same photos, in the same order, for every mode: the folder's photos round-robin until `count`. */
export function jobList(photos: readonly string[], count: number): string[] {
  return Array.from({ length: count }, (_, i) => photos[i % photos.length]);
}

export interface JobTiming {
  photo: string;
  /** Milliseconds since the measured run began. */
  startMs: number;
  endMs: number;
  /** When the client had the result (ms since the epoch; same clock as the server's, on this machine). */
  resultAt?: number;
  /** The output's blob key (content-addressed: equal keys, equal bytes), where the mode produces one. */
  output?: string;
}
