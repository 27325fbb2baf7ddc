import type { ImageRequest } from '../image-api/request.js';
import { needsColourConversion } from './icc.js';
import type { NativeBinding } from './native.js';
import type { ImageSource, JpegTileGrid, Level } from './source.js';

/** Adobe APP14 marker with transform 0: tells decoders the three components are RGB, not YCbCr. */
const ADOBE_RGB = Buffer.from([0xff, 0xee, 0x00, 0x0e, 0x41, 0x64, 0x6f, 0x62, 0x65, 0x00, 0x64, 0x00, 0x00, 0x00, 0x00, 0x00]);
const SOI = Buffer.from([0xff, 0xd8]);

export interface StoredTile {
  readonly level: Level & { readonly jpegTiles: JpegTileGrid };
  readonly index: number;
  /**
   * For a tile on the right or bottom edge, the part of it inside the image: the file stores edge
   * tiles padded to the full tile size, so they must be cropped (losslessly) before sending.
   */
  readonly crop?: { readonly width: number; readonly height: number } | undefined;
}

/**
 * The stored JPEG tile that answers a request exactly, if there is one: the region is one tile of a
 * pyramid level (clipped to the image at the right and bottom edges), the size is that tile's size
 * in the level, no rotation or mirroring, default/colour quality (or grey for a greyscale image), jpg;
 * and the level's pixels need no colour conversion (untagged or sRGB-tagged: see needsColourConversion).
 */
export function findStoredTile(source: ImageSource, request: ImageRequest): StoredTile | undefined {
  const { region, size } = request;
  const { info } = source;
  if (request.format !== 'jpg' || request.rotation !== 0 || request.mirror) return undefined;
  if (request.quality === 'bitonal') return undefined;
  for (const level of info.levels) {
    const grid = level.jpegTiles;
    const tile = level.tile;
    if (!grid || !tile || needsColourConversion(level)) continue;
    if (request.quality === 'gray' && !grid.grey) continue;
    const scale = Math.round(level.scale);
    const spanX = tile.width * scale;
    const spanY = tile.height * scale;
    if (region.x % spanX !== 0 || region.y % spanY !== 0) continue;
    if (region.width !== Math.min(spanX, info.width - region.x) || region.height !== Math.min(spanY, info.height - region.y)) continue;
    const col = region.x / spanX;
    const row = region.y / spanY;
    const width = Math.min(tile.width, level.width - col * tile.width);
    const height = Math.min(tile.height, level.height - row * tile.height);
    if (width <= 0 || height <= 0 || size.width !== width || size.height !== height) continue;
    const index = row * Math.ceil(level.width / tile.width) + col;
    if (index >= grid.offsets.length) continue;
    const crop = width < tile.width || height < tile.height ? { width, height } : undefined;
    return { level: level as StoredTile['level'], index, crop };
  }
  return undefined;
}

/**
 * Reads a stored tile and makes it a complete JPEG stream (tables spliced in); an edge tile is
 * cropped losslessly with the native addon. Undefined when the tile needs a crop and there is no
 * addon: the caller then renders the request the ordinary way.
 */
export async function readStoredTile(source: ImageSource, tile: StoredTile, native: NativeBinding | undefined): Promise<Buffer | undefined> {
  if (tile.crop && !native) return undefined;
  const room = roomFor(tile);
  if (source.readBytesInto) await source.readBytesInto(room.jpeg, room.at, room.offset, room.length);
  else (await source.readBytes(room.offset, room.length)).copy(room.jpeg, room.at);
  return completed(room, tile, native);
}

/**
 * readStoredTile done at once, for the image fast path: undefined when the storage cannot read the
 * tile without waiting (an object in S3, a tile over the synchronous limit) or it needs a crop and
 * there is no addon; throws when the read or the crop fails.
 */
export function storedTileNow(source: ImageSource, tile: StoredTile, native: NativeBinding | undefined): Buffer | undefined {
  if ((tile.crop && !native) || !source.readBytesIntoNow) return undefined;
  const room = roomFor(tile);
  if (!source.readBytesIntoNow(room.jpeg, room.at, room.offset, room.length)) return undefined;
  return completed(room, tile, native);
}

/** The buffer a stored tile is read into, and where: after its level's prefix. */
interface TileRoom {
  readonly jpeg: Buffer;
  readonly prefix: Buffer;
  readonly at: number;
  readonly offset: number;
  readonly length: number;
}

/**
 * One buffer for the whole stream: the tile is read in after the prefix's room, its own SOI landing
 * on the prefix's last two bytes, which completed() writes after it.
 */
function roomFor(tile: StoredTile): TileRoom {
  const grid = tile.level.jpegTiles;
  const length = grid.byteCounts[tile.index]!;
  const prefix = prefixOf(grid);
  return { jpeg: Buffer.allocUnsafe(prefix.length + Math.max(length, 2) - 2), prefix, at: prefix.length - 2, offset: grid.offsets[tile.index]!, length };
}

/** The tile read into its room made a complete stream: the prefix written in, an edge tile cropped. */
function completed(room: TileRoom, tile: StoredTile, native: NativeBinding | undefined): Buffer {
  room.prefix.copy(room.jpeg, 0);
  return tile.crop && native ? cropped(room.jpeg, tile.crop, native) : room.jpeg;
}

/** An edge tile cropped over its own buffer when the fast crop takes the stream, else into a new one (tjTransform). */
function cropped(jpeg: Buffer, crop: { readonly width: number; readonly height: number }, native: NativeBinding): Buffer {
  const size = native.cropJpegInPlace?.(jpeg, crop.width, crop.height) ?? 0;
  return size > 0 ? jpeg.subarray(0, size) : native.cropJpeg(jpeg, crop.width, crop.height);
}

/** What goes before a level's tile data (its SOI dropped) to make a complete JPEG stream, made once per level. */
const prefixes = new WeakMap<JpegTileGrid, Buffer>();

function prefixOf(grid: JpegTileGrid): Buffer {
  let prefix = prefixes.get(grid);
  if (!prefix) {
    const parts: Buffer[] = [SOI];
    if (grid.rgb) parts.push(ADOBE_RGB);
    // Tables are SOI … EOI; the tile is SOI … EOI without them. Drop the inner SOI/EOI markers.
    if (grid.tables && grid.tables.length > 4) parts.push(grid.tables.subarray(2, grid.tables.length - 2));
    prefix = Buffer.concat(parts);
    prefixes.set(grid, prefix);
  }
  return prefix;
}
