import type { ImageRequest } from '../image-api/request.js';
import { renderGeometry, type RenderGeometry } from './executor.js';
import type { NativeBinding } from './native.js';
import { findStoredTile, type StoredTile } from './passthrough.js';
import type { ImageSource, Level } from './source.js';

/**
 * How a request is answered: a stored JPEG tile sent as it is, a region decoded by libjpeg-turbo
 * from stored tiles, an area decoded by OpenJPEG, or libvips reading the file.
 */
export type Strategy = 'passthrough' | 'jpegTiles' | 'jp2Area' | 'vips';

/** The strategy chosen for a request before any pixel is read, with what it will cost. */
export interface RenderPlan {
  readonly strategy: Strategy;
  readonly level: Level;
  /** The stored tile that answers the request, for passthrough. */
  readonly stored?: StoredTile | undefined;
  /** What render() reads, worked out here once (absent for passthrough: render() works it out if the stored tile cannot be read). */
  readonly geometry?: RenderGeometry | undefined;
  /** Source pixels the decoder produces (after DCT scaling; a whole level when it cannot decode an area). */
  readonly decodedPixels: number;
  readonly outputPixels: number;
  /**
   * Whether the request is expensive (many pixels to decode or encode, a rotation that is not a
   * multiple of 90°, an untiled source): such requests go through the bounded render queue, so
   * they cannot hold up cheap ones (stored tiles, small regions).
   */
  readonly heavy: boolean;
}

/**
 * Above this many decoded or output pixels a request is heavy: 1 MP is four 512×512 tiles, more
 * than any deep-zoom tile needs, and an encode of some tens of milliseconds.
 */
export const CHEAP_PIXELS = 1024 * 1024;

/**
 * Plans a resolved request on a source. `jp2DecodesArea` says whether the JPEG 2000 decoder
 * decodes only the area asked (native OpenJPEG) or the whole level (the WebAssembly fallback).
 */
export function planRequest(source: ImageSource, request: ImageRequest, native: NativeBinding | undefined, jp2DecodesArea: boolean): RenderPlan {
  const { info } = source;
  const outputPixels = request.size.width * request.size.height;
  const stored = findStoredTile(source, request);
  if (stored) return { strategy: 'passthrough', level: stored.level, stored, decodedPixels: 0, outputPixels, heavy: false };
  const geometry = renderGeometry(info, request, native);
  const { level, rect, region } = geometry;
  const area = (rect.right - rect.left) * (rect.bottom - rect.top);
  let strategy: Strategy;
  let decodedPixels: number;
  if (info.jp2) {
    strategy = 'jp2Area';
    decodedPixels = jp2DecodesArea ? area : level.width * level.height;
  } else {
    strategy = region ? 'jpegTiles' : 'vips';
    // Without stored tiles, libvips decodes the level whole (sequentially).
    decodedPixels = region ? region.width * region.height : info.tiled ? area : level.width * level.height;
  }
  const heavy = decodedPixels > CHEAP_PIXELS || outputPixels > CHEAP_PIXELS || request.rotation % 90 !== 0;
  return { strategy, level, geometry, decodedPixels, outputPixels, heavy };
}
