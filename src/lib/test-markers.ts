import { writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * Test hooks for the crash tests (test/chaos/kill-mid-work.test.ts), off unless a worker's environment names a
 * marker folder (NANO_PHOTOS_TEST_MARKER_DIR, read in config.ts). At each point below the process writes
 * `<folder>/<point>.<pid>.json`, so a test can tell exactly where a process is before it kills it, and, afterwards,
 * which points it never reached. With NANO_PHOTOS_TEST_HOLD_AT the process also stops at that point (its
 * heartbeats go on) until it is killed.
 */
export const MARKER_POINTS = [
  /** A filter activity is about to run sharp's pipeline that decodes, filters and encodes its output. */
  'encode-start',
  /** ...and that pipeline has finished. */
  'encode-end',
  /** writeAtomic has written the first half of a file's bytes to its partial file, not the rest. */
  'store-write',
] as const;
export type MarkerPoint = (typeof MARKER_POINTS)[number];

export interface TestMarkerSettings {
  dir: string;
  holdAt?: MarkerPoint;
}

/** Longer than any crash test waits to kill a held process; then it goes on, so a forgotten hold cannot hang. */
const HOLD_MS = 120_000;

let settings: TestMarkerSettings | undefined;

/** Called once by a worker process whose config has test markers. */
export function enableTestMarkers(value: TestMarkerSettings | undefined): void {
  settings = value;
}

export function testMarkersEnabled(): boolean {
  return settings !== undefined;
}

export function markerFile(dir: string, point: MarkerPoint, pid: number): string {
  return path.join(dir, `${point}.${pid}.json`);
}

/** Records that this process reached `point` (with `details`), and holds there if told to. No-op when disabled. */
export async function markPoint(point: MarkerPoint, details: Record<string, unknown> = {}): Promise<void> {
  if (!settings) return;
  const record = { point, pid: process.pid, at: Date.now(), ...details };
  await writeFile(markerFile(settings.dir, point, process.pid), JSON.stringify(record));
  if (settings.holdAt === point) await new Promise((resolve) => setTimeout(resolve, HOLD_MS));
}
