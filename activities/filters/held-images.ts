import { randomBytes } from 'node:crypto';

/** Held images beyond this many bytes push out the oldest: about 36 of the benchmark's 2048-pixel-wide steps. */
export const DEFAULT_HELD_BYTES = 256 * 1024 * 1024;
/** A held image nobody took within this time belongs to a run that moved on (failed, cancelled, rebuilt elsewhere). */
export const HELD_FOR_MS = 2 * 60_000;

/**
 * Intermediates a filter worker keeps in memory for the run's next step, which the workflow sends to this worker's
 * own task queue (runs with `intermediates: 'memory'`): no hash, no write, no read. Nothing here is durable: an
 * image that is gone (the worker restarted, or the image expired or was pushed out) is made again by the next step
 * from the run's original and the steps before it (FilterInput.recipe), on whichever worker takes it.
 */
export class HeldImages {
  private readonly images = new Map<string, { data: Buffer; since: number }>();
  private heldBytes = 0;

  constructor(
    readonly maxBytes = DEFAULT_HELD_BYTES,
    readonly maxAgeMs = HELD_FOR_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** Bytes held now. */
  get bytes(): number {
    return this.heldBytes;
  }

  /** Keeps `data`; returns its key, `memory/<random>.raw` (random: the key never names anything in the store). */
  hold(data: Buffer): { key: string; id: string } {
    const id = randomBytes(32).toString('hex');
    const key = `memory/${id}.raw`;
    this.images.set(key, { data, since: this.now() });
    this.heldBytes += data.length;
    this.letGo();
    return { key, id };
  }

  /** The image under `key`, which is then no longer held (a retried step makes it again); undefined if gone. */
  take(key: string): Buffer | undefined {
    const entry = this.images.get(key);
    if (!entry) return undefined;
    this.forget(key, entry.data);
    return entry.data;
  }

  /** Drops expired images and, while over the byte limit, the oldest (the map keeps insertion order). */
  private letGo(): void {
    const cutoff = this.now() - this.maxAgeMs;
    for (const [key, { data, since }] of this.images) {
      if (since > cutoff && this.heldBytes <= this.maxBytes) break;
      this.forget(key, data);
    }
  }

  private forget(key: string, data: Buffer): void {
    this.images.delete(key);
    this.heldBytes -= data.length;
  }
}
