import { formatOf } from '../common/formats';
import sharp from 'sharp';
import { parseFilterParams } from '../common/filter-catalog';
import { completeChain } from '../common/filter-chain';
import { applyFilter } from '../../activities/filters/operations';
import { encode, openBuffer, toRaw, type RawImage } from '../../activities/shared/image-io';
import type { FilterStep, ImageFormat } from '../common/types';

/**
 * The monolith: the same filter functions as the nano-services, applied one after another in this process with
 * raw intermediates held in memory. The reference the pipeline's output must match, and the benchmark's baseline.
 */
export async function applyChainInProcess(original: Buffer, steps: FilterStep[]): Promise<Buffer> {
  const meta = await sharp(original).metadata();
  const source = formatOf(meta); // as upload names it
  const chain = completeChain(steps, (source ?? 'png') as ImageFormat);
  const output = chain.pop()!;
  let raw: RawImage | undefined;
  let image = openBuffer(original, { format: meta.format as ImageFormat, width: 0, height: 0, channels: 0 });
  let size = meta.autoOrient ?? { width: meta.width ?? 0, height: meta.height ?? 0 };
  for (const step of chain) {
    raw = await toRaw(await applyFilter(image, size, step.filter, step.params));
    image = openBuffer(raw.data, { format: 'raw', ...raw });
    size = raw;
  }
  const { format, quality } = parseFilterParams('output', output.params);
  return encode(await applyFilter(image, size, 'output', output.params), format!, quality);
}
