import type { Dimensions } from '../image-api/request.js';
import { needsColourConversion } from './icc.js';
import type { NativeBinding } from './native.js';
import type { ImageSource, JpegTileGrid, Level } from './source.js';

/** A rectangle of one level, in that level's pixels: [left, right) × [top, bottom). */
export interface LevelRect {
  readonly left: number;
  readonly top: number;
  readonly right: number;
  readonly bottom: number;
}

/** One stored tile's part of a region: which tile, which of its (decoded) pixels, and where they go. */
export interface TilePlacement {
  readonly index: number;
  readonly srcX: number;
  readonly srcY: number;
  readonly width: number;
  readonly height: number;
  readonly dstX: number;
  readonly dstY: number;
}

/** How to decode a region of a JPEG-tiled level with libjpeg-turbo instead of libvips. */
export interface RegionPlan {
  readonly grid: JpegTileGrid;
  readonly tile: Dimensions;
  /** libjpeg-turbo's DCT scaling: the level is decoded at 1/denominator of its size. */
  readonly denominator: 1 | 2 | 4;
  /** The decoded region's size (the level rectangle divided by the denominator, rounded out). */
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 3;
  /** Colour tiles decoded to one grey channel (see JpegTilesJob.grey). */
  readonly grey: boolean;
  readonly tiles: readonly TilePlacement[];
}

/** A decoded region: raw interleaved pixels, what sharp takes as `raw` input. */
export interface DecodedRegion {
  readonly data: Buffer;
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 3;
}

/**
 * Largest region decoded into one buffer (pixels after DCT scaling): 8 MP is 24 MB of RGB. Larger
 * requests stay on libvips, which streams them.
 */
export const MAX_REGION_PIXELS = 8 * 1024 * 1024;

/** Stored tiles closer than this in the file are read in one call (the gap is read and discarded). */
const READ_GAP = 64 * 1024;

/** How often each path ran in this process (the tests check that the native one really did). */
export const regionDecodeStats = { native: 0, failed: 0 };

/**
 * Decoded regions are megabytes each, many per second: allocated fresh, they would be reclaimed only
 * by V8's major collections, which their external memory then triggers again and again (a tenth of
 * the CPU time under load). So buffers from 128 KB to 8 MB are recycled once a request is done with
 * them, in power-of-two size classes, with at most POOL_BYTES kept idle.
 */
const POOL_BYTES = 32 * 1024 * 1024;
const POOL_MIN = 128 * 1024;
const POOL_MAX = 8 * 1024 * 1024;
const pool = new Map<number, Buffer[]>();
let pooledBytes = 0;

function sizeClass(bytes: number): number {
  return 2 ** Math.ceil(Math.log2(bytes));
}

/** A buffer of `bytes` for decoded pixels: a recycled one of its size class when there is one (give it back with releaseRegion). */
export function takeBuffer(bytes: number): Buffer {
  if (bytes < POOL_MIN / 2 || bytes > POOL_MAX) return Buffer.allocUnsafeSlow(bytes);
  const size = Math.max(POOL_MIN, sizeClass(bytes));
  const free = pool.get(size)?.pop();
  if (free) pooledBytes -= size;
  return (free ?? Buffer.allocUnsafeSlow(size)).subarray(0, bytes);
}

/**
 * Gives a decoded region's buffer back for reuse. Only once nothing reads it any more: after the
 * sharp pipeline that took it as input has finished (resolved or rejected).
 */
export function releaseRegion(region: { readonly data: Buffer }): void {
  const { buffer, byteOffset } = region.data;
  const size = buffer.byteLength;
  if (byteOffset !== 0 || size < POOL_MIN || size > POOL_MAX || size !== sizeClass(size) || pooledBytes + size > POOL_BYTES) return;
  const free = pool.get(size) ?? [];
  if (free.some((b) => b.buffer === buffer)) return;
  free.push(Buffer.from(buffer));
  pool.set(size, free);
  pooledBytes += size;
}

/**
 * The plan to decode `rect` of `level` from its stored JPEG tiles, or undefined when the level is not
 * one this path handles: it must be tiled with baseline 8-bit JPEG (YCbCr, RGB or grey; the grid
 * check in tiff/levels.ts excludes CMYK, planar, 16-bit, old-style JPEG, alpha), carry no ICC
 * profile other than sRGB's, its tiles be multiples of 16 pixels, every tile the region touches be present in the
 * file, and the region not too large. The addon checks each stream against the same expectations
 * (size, components, precision, sampling) and fails the request over to libvips when one differs.
 * `size` is the output size: when the region holds at least 4× or 8× the pixels needed in both
 * directions (only a level with no smaller level below it can), libjpeg-turbo decodes at 1/2 or 1/4
 * scale (DCT scaling) for a fraction of the work, and the kernel does the last factor of 2 or more.
 * `grey`: the request wants grey pixels (`gray`, `bitonal`), so colour tiles are converted in the
 * decoder rather than by libvips afterwards (its float colour pipeline costs more than the decode).
 */
export function planRegionDecode(level: Level, rect: LevelRect, size: Dimensions, grey = false): RegionPlan | undefined {
  const grid = level.jpegTiles;
  const tile = level.tile;
  // An embedded non-sRGB profile is applied by libvips (converted to sRGB); raw pixels would skip that.
  if (!grid || !tile || needsColourConversion(level)) return undefined;
  if (tile.width % 16 !== 0 || tile.height % 16 !== 0 || tile.width > 8192 || tile.height > 8192) return undefined;
  const { left, top, right, bottom } = rect;
  if (!(left >= 0 && top >= 0 && right <= level.width && bottom <= level.height && right > left && bottom > top)) return undefined;
  const across = Math.ceil(level.width / tile.width);
  const down = Math.ceil(level.height / tile.height);
  if (grid.offsets.length < across * down || grid.byteCounts.length < across * down) return undefined;

  // DCT scaling drops the high frequencies block by block, a cruder filter than the resampling
  // kernel: at least a factor of two is left to the kernel (as sharp does for JPEG files with
  // fastShrinkOnLoad: false), and 1/8, which keeps only each block's mean (a box filter), is not
  // used. The result then stays close to libvips' own (mean difference ~1 level on text).
  const ratio = Math.min((right - left) / size.width, (bottom - top) / size.height) * (1 + 1e-9);
  let denominator: 1 | 2 | 4 = 1;
  for (const d of [4, 2] as const) {
    if (ratio >= 2 * d && tile.width % (8 * d) === 0 && tile.height % (8 * d) === 0) {
      denominator = d;
      break;
    }
  }
  // Scaled coordinates, rounded outwards; at the right and bottom edges, a last scaled pixel made
  // mostly of the padding that fills edge tiles is left out.
  const edgeWidth = Math.max(1, Math.floor(level.width / denominator));
  const edgeHeight = Math.max(1, Math.floor(level.height / denominator));
  const x0 = Math.min(Math.floor(left / denominator), edgeWidth - 1);
  const y0 = Math.min(Math.floor(top / denominator), edgeHeight - 1);
  const x1 = Math.max(x0 + 1, Math.min(Math.ceil(right / denominator), edgeWidth));
  const y1 = Math.max(y0 + 1, Math.min(Math.ceil(bottom / denominator), edgeHeight));
  const width = x1 - x0;
  const height = y1 - y0;
  if (width * height > MAX_REGION_PIXELS) return undefined;

  const tw = tile.width / denominator;
  const th = tile.height / denominator;
  const tiles: TilePlacement[] = [];
  for (let row = Math.floor(y0 / th); row * th < y1; row++) {
    for (let col = Math.floor(x0 / tw); col * tw < x1; col++) {
      const index = row * across + col;
      if (!(grid.byteCounts[index]! > 0)) return undefined;
      const sx = Math.max(x0, col * tw);
      const sy = Math.max(y0, row * th);
      const ex = Math.min(x1, (col + 1) * tw);
      const ey = Math.min(y1, (row + 1) * th);
      tiles.push({ index, srcX: sx - col * tw, srcY: sy - row * th, width: ex - sx, height: ey - sy, dstX: sx - x0, dstY: sy - y0 });
    }
  }
  const toGrey = grey && !grid.grey;
  return { grid, tile, denominator, width, height, channels: grid.grey || toGrey ? 1 : 3, grey: toGrey, tiles };
}

/** Reads the stored tiles a plan needs, coalescing neighbours in the file into one read. */
async function readTiles(source: ImageSource, plan: RegionPlan): Promise<Buffer[]> {
  const { offsets, byteCounts } = plan.grid;
  const order = plan.tiles.map((_, i) => i).sort((a, b) => offsets[plan.tiles[a]!.index]! - offsets[plan.tiles[b]!.index]!);
  const out: Buffer[] = new Array<Buffer>(plan.tiles.length);
  const reads: Promise<void>[] = [];
  for (let i = 0; i < order.length; ) {
    const first = plan.tiles[order[i]!]!.index;
    const start = offsets[first]!;
    let end = start + byteCounts[first]!;
    let j = i + 1;
    for (; j < order.length; j++) {
      const next = plan.tiles[order[j]!]!.index;
      if (offsets[next]! > end + READ_GAP) break;
      end = Math.max(end, offsets[next]! + byteCounts[next]!);
    }
    const members = order.slice(i, j);
    reads.push(
      source.readBytes(start, end - start).then((bytes) => {
        for (const m of members) {
          const index = plan.tiles[m]!.index;
          out[m] = bytes.subarray(offsets[index]! - start, offsets[index]! - start + byteCounts[index]!);
        }
      }),
    );
    i = j;
  }
  await Promise.all(reads);
  return out;
}

/**
 * Decodes a planned region with the native addon, off the JavaScript thread. Rejects when the addon
 * cannot decode it (a corrupt tile, an unexpected stream): the caller then uses libvips.
 */
export async function decodeRegion(source: ImageSource, plan: RegionPlan, native: NativeBinding): Promise<DecodedRegion> {
  if (!native.decodeJpegTiles) throw new Error('the native addon was built without region decoding');
  const tiles = await readTiles(source, plan);
  const placements = new Int32Array(plan.tiles.length * 6);
  plan.tiles.forEach((t, i) => placements.set([t.srcX, t.srcY, t.width, t.height, t.dstX, t.dstY], i * 6));
  const data = takeBuffer(plan.width * plan.height * plan.channels);
  const tables = plan.grid.tables && plan.grid.tables.length > 4 ? plan.grid.tables : undefined;
  const job = native.decodeJpegTiles({
    tables,
    tiles,
    placements,
    tileWidth: plan.tile.width,
    tileHeight: plan.tile.height,
    denominator: plan.denominator,
    colour: plan.grid.grey ? 0 : plan.grid.rgb ? 2 : 1,
    grey: plan.grey,
    out: data,
    width: plan.width,
    height: plan.height,
  });
  const region = { data, width: plan.width, height: plan.height, channels: plan.channels };
  try {
    await job;
  } catch (error) {
    releaseRegion(region);
    throw error;
  }
  return region;
}
