import { LRUCache } from 'lru-cache';
import { NO_COUNTERS, type ImagingCounters } from '../counters.js';
import type { ImageSource } from '../source.js';
import type { Jp2Header } from './codestream.js';
import { cut, type Jp2Decoder, type Jp2Pixels, type Jp2Rect } from './decoder.js';

/**
 * Decoding a small area of a JPEG 2000 tile costs far more per pixel than decoding the whole tile:
 * the wavelet's filters reach into neighbouring code-blocks, so a 256×256 area of a 1024×1024 tile
 * decodes about a quarter of the tile's code-blocks (11 ms against 60 ms for all of it, measured on
 * the benchmark file). Deep-zoom viewers ask for the neighbouring tiles a moment later, so a tile
 * request decodes the whole block around it (the codestream tile at that level, 256 to 1024 pixels
 * a side), keeps the pixels in a bounded LRU, and cuts the tile out: the next tiles of that block
 * cost a copy. Concurrent requests for one block share a single decode.
 */

/** How often a tile came from a cached block, or needed a block decoded (the tests check both happen). */
export const blockCacheStats = { hits: 0, decodes: 0 };

const MIN_BLOCK = 256;
const MAX_BLOCK = 1024;

/** The side of the blocks of level `reduce`: the codestream tile at that level, clamped to 256–1024 (or the level). */
export function blockSize(header: Jp2Header, reduce: number): { width: number; height: number } {
  // Files decoded whole (see Jp2Header.packedHeaders): one block, the level.
  if (header.packedHeaders) return { width: Math.ceil(header.x1 / 2 ** reduce), height: Math.ceil(header.y1 / 2 ** reduce) };
  const clamp = (v: number): number => Math.min(MAX_BLOCK, Math.max(MIN_BLOCK, 2 ** Math.ceil(Math.log2(Math.max(1, v)))));
  return { width: clamp(header.tileWidth / 2 ** reduce), height: clamp(header.tileHeight / 2 ** reduce) };
}

/**
 * `decoder` with a cache of decoded blocks of `maxBytes` at most. Requests that fit inside one
 * block go through it; larger or block-straddling ones are decoded directly (a viewer's tiles never
 * straddle: blocks are multiples of 256 aligned on the same grid).
 */
export function withBlockCache(decoder: Jp2Decoder, maxBytes: number, counters: ImagingCounters = NO_COUNTERS): Jp2Decoder {
  if (maxBytes <= 0 || !decoder.decodesArea) return decoder;
  const blocks = new LRUCache<string, Jp2Pixels>({ maxSize: maxBytes, sizeCalculation: (p) => Math.max(1, p.data.length) });
  const pending = new Map<string, Promise<Jp2Pixels>>();
  return {
    ...decoder,
    description: `${decoder.description}, ${Math.round(maxBytes / 2 ** 20)} MB cache of decoded blocks`,
    async decode(source: ImageSource, header: Jp2Header, reduce: number, rect: Jp2Rect): Promise<Jp2Pixels> {
      const size = blockSize(header, reduce);
      const column = Math.floor(rect.left / size.width);
      const row = Math.floor(rect.top / size.height);
      const block = {
        left: column * size.width,
        top: row * size.height,
        right: (column + 1) * size.width,
        bottom: (row + 1) * size.height,
      };
      if (rect.right > block.right || rect.bottom > block.bottom) return decoder.decode(source, header, reduce, rect);
      // Clipped to the level: edge blocks are smaller.
      const f = 2 ** reduce;
      const levelWidth = Math.ceil(header.x1 / f) - Math.ceil(header.x0 / f);
      const levelHeight = Math.ceil(header.y1 / f) - Math.ceil(header.y0 / f);
      const clipped = { ...block, right: Math.min(block.right, levelWidth), bottom: Math.min(block.bottom, levelHeight) };
      const key = `${source.name}\0${source.version}\0${reduce}\0${column}\0${row}`;
      let pixels = blocks.get(key);
      if (pixels) {
        blockCacheStats.hits++;
        counters.blockLookup(true);
      } else {
        let decoding = pending.get(key);
        if (decoding) {
          blockCacheStats.hits++;
          counters.blockLookup(true);
        } else {
          blockCacheStats.decodes++;
          counters.blockLookup(false);
          decoding = decoder.decode(source, header, reduce, clipped).finally(() => pending.delete(key));
          pending.set(key, decoding);
          void decoding.then((p) => blocks.set(key, p)).catch(() => undefined);
        }
        pixels = await decoding;
      }
      return cut(pixels, rect.left - clipped.left, rect.top - clipped.top, rect.right - rect.left, rect.bottom - rect.top);
    },
  };
}
