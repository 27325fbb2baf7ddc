import type { ImageRequest } from '../image-api/request.js';
import type { ImageSource, JpegTileGrid, Level } from './source.js';

/** Adobe APP14 marker with transform 0: tells decoders the three components are RGB, not YCbCr. */
const ADOBE_RGB = Buffer.from([0xff, 0xee, 0x00, 0x0e, 0x41, 0x64, 0x6f, 0x62, 0x65, 0x00, 0x64, 0x00, 0x00, 0x00, 0x00, 0x00]);
const SOI = Buffer.from([0xff, 0xd8]);

export interface StoredTile {
  readonly level: Level & { readonly jpegTiles: JpegTileGrid };
  readonly index: number;
}

/**
 * The stored JPEG tile that answers a request exactly, if there is one: same region as one whole
 * tile of a pyramid level, same size as the tile, no rotation or mirroring, default/colour quality
 * (or grey for a greyscale image), jpg. Edge tiles, padded in the file, never match.
 */
export function findStoredTile(source: ImageSource, request: ImageRequest): StoredTile | undefined {
  const { region, size } = request;
  if (request.format !== 'jpg' || request.rotation !== 0 || request.mirror) return undefined;
  if (request.quality === 'bitonal') return undefined;
  for (const level of source.info.levels) {
    const grid = level.jpegTiles;
    const tile = level.tile;
    if (!grid || !tile || size.width !== tile.width || size.height !== tile.height) continue;
    const scale = Math.round(level.scale);
    if (region.width !== tile.width * scale || region.height !== tile.height * scale) continue;
    if (region.x % region.width !== 0 || region.y % region.height !== 0) continue;
    const col = region.x / region.width;
    const row = region.y / region.height;
    if ((col + 1) * tile.width > level.width || (row + 1) * tile.height > level.height) continue;
    if (request.quality === 'gray' && !grid.grey) continue;
    const index = row * Math.ceil(level.width / tile.width) + col;
    if (index >= grid.offsets.length) continue;
    return { level: level as StoredTile['level'], index };
  }
  return undefined;
}

/** Reads a stored tile and makes it a complete JPEG stream (tables spliced in). */
export async function readStoredTile(source: ImageSource, tile: StoredTile): Promise<Buffer> {
  const grid = tile.level.jpegTiles;
  const data = await source.readBytes(grid.offsets[tile.index]!, grid.byteCounts[tile.index]!);
  const parts: Buffer[] = [SOI];
  if (grid.rgb) parts.push(ADOBE_RGB);
  // Tables are SOI … EOI; the tile is SOI … EOI without them. Drop the inner SOI/EOI markers.
  if (grid.tables && grid.tables.length > 4) parts.push(grid.tables.subarray(2, grid.tables.length - 2));
  parts.push(data.subarray(2));
  return Buffer.concat(parts);
}
