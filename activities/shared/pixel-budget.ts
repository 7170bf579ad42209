/**
 * The pixels an upload or filter worker holds at once, by default (NANO_PHOTOS_UPLOAD_PIXEL_BUDGET and
 * NANO_PHOTOS_FILTER_PIXEL_BUDGET set others): eight 12-megapixel photos resized at once fit, two 100-megapixel jobs
 * do not. At 4 bytes a pixel (raw RGBA) plus libvips' working copies, about 1 GB of image memory. Here, not in
 * src/lib/config.ts, so that the filters load without the Temporal client that the configuration's module brings.
 */
export const DEFAULT_PIXEL_BUDGET = 200_000_000;

/**
 * Bounds the pixels an image service holds at once, across all its activities: a limit on the number of activities
 * alone lets eight 100-megapixel jobs take gigabytes. Each job asks for its pixels (a filter: input plus output, an
 * upload: the image it decodes) before it holds them and gives them back when done. Jobs start in the order they
 * asked, so a large one is not passed over forever by small ones; one job larger than the whole budget runs when
 * nothing else does.
 */
export class PixelBudget {
  private inUse = 0;
  private highWater = 0;
  private readonly queue: { pixels: number; start: () => void }[] = [];

  constructor(readonly limit: number) {}

  /** The most pixels held at once so far: what a test or an operator checks against the limit. */
  get peak(): number {
    return this.highWater;
  }

  /** Runs `work` once `pixels` fit in the budget; `signal` (the activity's cancellation) stops the wait. */
  async run<T>(pixels: number, work: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    await this.acquire(pixels, signal);
    try {
      return await work();
    } finally {
      this.inUse -= pixels;
      this.startWaiting();
    }
  }

  private fits(pixels: number): boolean {
    return this.inUse === 0 || this.inUse + pixels <= this.limit;
  }

  private take(pixels: number): void {
    this.inUse += pixels;
    this.highWater = Math.max(this.highWater, this.inUse);
  }

  private acquire(pixels: number, signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    if (this.queue.length === 0 && this.fits(pixels)) {
      this.take(pixels);
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const entry = {
        pixels,
        start: () => {
          signal?.removeEventListener('abort', leave);
          resolve();
        },
      };
      const leave = () => {
        this.queue.splice(this.queue.indexOf(entry), 1);
        this.startWaiting(); // the next in line may fit now that this one no longer blocks it
        reject(signal!.reason);
      };
      signal?.addEventListener('abort', leave, { once: true });
      this.queue.push(entry);
    });
  }

  private startWaiting(): void {
    while (this.queue.length > 0 && this.fits(this.queue[0].pixels)) {
      const next = this.queue.shift()!;
      this.take(next.pixels);
      next.start();
    }
  }
}
