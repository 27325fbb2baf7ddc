import type { ImageDescription } from '../image-api/info.js';
import type { Dimensions } from '../image-api/request.js';
import type { SourceInfo } from './source.js';

/**
 * What info.json advertises for a source: the stored levels' scale factors and sizes, extended by
 * halvings until the whole image fits one tile, so viewers can start from a single tile.
 */
export function describeSource(info: SourceInfo): ImageDescription {
  const factors: number[] = [];
  const sizes: Dimensions[] = [];
  for (const level of info.levels) {
    const factor = 2 ** Math.round(Math.log2(level.scale));
    if (factors.includes(factor)) continue;
    factors.push(factor);
    sizes.push({ width: level.width, height: level.height });
  }
  let factor = factors[factors.length - 1] ?? 1;
  while (Math.ceil(info.width / factor) > info.tile.width || Math.ceil(info.height / factor) > info.tile.height) {
    factor *= 2;
    factors.push(factor);
    const size = { width: Math.round(info.width / factor), height: Math.round(info.height / factor) };
    if (size.width >= 1 && size.height >= 1) sizes.push(size);
  }
  return { width: info.width, height: info.height, tile: info.tile, scaleFactors: factors, sizes };
}
