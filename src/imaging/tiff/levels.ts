import type { Dimensions } from '../../image-api/request.js';
import type { JpegTileGrid, Level, LevelAddress } from '../source.js';
import { Compression, Photometric, type Ifd } from './ifd.js';
import { needsLibtiff } from './libtiff.js';

/**
 * Finds the resolution levels of a TIFF: IFD0 is full resolution; reduced levels are either further
 * top-level IFDs (libvips' and iipsrv's layout) or SubIFDs of IFD0 (the OME/Aperio layout). A
 * directory counts as a level only if it keeps the aspect ratio and is smaller than the previous
 * one, so ordinary multi-page TIFFs are not mistaken for pyramids.
 */
export function pyramidLevels(ifds: readonly Ifd[]): Level[] {
  const base = ifds[0];
  if (!base) return [];
  const levels: Level[] = [toLevel(base, { page: 0 }, base)];
  const candidates: Array<[Ifd, LevelAddress]> =
    base.subIfds.length > 0
      ? base.subIfds.map((ifd, i) => [ifd, { subifd: i }])
      : ifds.slice(1).map((ifd, i) => [ifd, { page: i + 1 }]);
  for (const [ifd, address] of candidates) {
    const previous = levels[levels.length - 1]!;
    if (ifd.width >= previous.width || ifd.height >= previous.height) continue;
    if (!keepsAspect(base, ifd)) continue;
    levels.push(toLevel(ifd, address, base));
  }
  return levels;
}

function keepsAspect(base: Dimensions, level: Dimensions): boolean {
  const scale = base.width / level.width;
  return Math.abs(base.height / scale - level.height) <= Math.max(1.5, scale / 64);
}

function toLevel(ifd: Ifd, address: LevelAddress, base: Dimensions): Level {
  const tiled = ifd.tileWidth !== undefined && ifd.tileHeight !== undefined;
  return {
    width: ifd.width,
    height: ifd.height,
    address,
    scale: base.width / ifd.width,
    tile: tiled ? { width: ifd.tileWidth!, height: ifd.tileHeight! } : undefined,
    jpegTiles: tiled ? jpegTileGrid(ifd) : undefined,
    iccProfile: ifd.iccProfile,
    iccProfileSrgb: ifd.iccSrgb,
    libtiff: needsLibtiff(ifd) ? { ifdOffset: ifd.offset } : undefined,
  };
}

/** The tile grid, when its stored tiles are baseline JPEG streams a browser can show as they are. */
function jpegTileGrid(ifd: Ifd): JpegTileGrid | undefined {
  if (ifd.compression !== Compression.JPEG || ifd.planar !== 1 || ifd.bitsPerSample !== 8) return undefined;
  const colour = ifd.samplesPerPixel === 3 && (ifd.photometric === Photometric.YCbCr || ifd.photometric === Photometric.RGB);
  const grey = ifd.samplesPerPixel === 1 && ifd.photometric === Photometric.MinIsBlack;
  if (!colour && !grey) return undefined;
  if (!ifd.tileOffsets || !ifd.tileByteCounts || ifd.tileOffsets.length !== ifd.tileByteCounts.length) return undefined;
  return {
    offsets: ifd.tileOffsets,
    byteCounts: ifd.tileByteCounts,
    tables: ifd.jpegTables,
    rgb: ifd.photometric === Photometric.RGB,
    grey,
  };
}
