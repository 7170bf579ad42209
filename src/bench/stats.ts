/** Small statistics for benchmark samples. */

/** The p-th percentile (0-100) by linear interpolation between closest ranks; NaN for no samples. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
}

export const median = (values: readonly number[]) => percentile(values, 50);

/**
 * The order of modes that take turns, in round `round` (from 0): each round starts one mode further on, so no mode
 * always goes first, after the pause between rounds, or always follows the same neighbour.
 */
export function turnOrder<T>(modes: readonly T[], round: number): T[] {
  return modes.map((_, i) => modes[(i + round) % modes.length]);
}

export function mean(values: readonly number[]): number {
  return values.length === 0 ? NaN : values.reduce((a, b) => a + b, 0) / values.length;
}

/** Runs `jobs` with at most `limit` in flight, in order of the array; resolves with results in the same order. */
export async function inFlight<T, R>(
  jobs: readonly T[],
  limit: number,
  run: (job: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(jobs.length);
  let next = 0;
  const lane = async () => {
    while (next < jobs.length) {
      const i = next++;
      results[i] = await run(jobs[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, lane));
  return results;
}
