import type { RangeReader } from '../../storage/byte-source.js';
import type { Level, SourceInfo } from '../source.js';
import { readJp2Header, reducedSize } from './codestream.js';

/**
 * Tile size advertised for JPEG 2000: each request decodes only the code-blocks its area needs, so
 * small tiles are cheap whatever the codestream's own tiling; 256 is what deep-zoom viewers expect.
 */
export const JP2_TILE = 256;

/**
 * A JPEG 2000 file's SourceInfo from its header alone: one level per resolution of the codestream
 * (the reduce factors OpenJPEG decodes directly), advertised as tiles since any area can be decoded.
 */
export async function jp2Info(file: RangeReader): Promise<SourceInfo> {
  const header = await readJp2Header(file);
  const levels: Level[] = [];
  for (let reduce = 0; reduce < header.resolutions; reduce++) {
    const { width, height } = reducedSize(header, reduce);
    if (width < 1 || height < 1) break;
    levels.push({ width, height, address: { reduce }, scale: 2 ** reduce });
  }
  const base = levels[0]!;
  return {
    format: 'jp2',
    width: base.width,
    height: base.height,
    levels,
    tile: { width: JP2_TILE, height: JP2_TILE },
    tiled: true,
    autoOrient: false,
    jp2: header,
  };
}
