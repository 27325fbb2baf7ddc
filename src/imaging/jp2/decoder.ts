import { cpus } from 'node:os';
import type { NativeBinding } from '../native.js';
import type { ImageSource } from '../source.js';
import type { Jp2Header } from './codestream.js';
import { wasmDecoder } from './wasm.js';

/** Decoded JPEG 2000 pixels: raw, row-major, interleaved, 8 bits per sample (what sharp takes as raw input). */
export interface Jp2Pixels {
  readonly data: Buffer;
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 2 | 3 | 4;
}

/** A rectangle of one resolution level, in that level's pixels: [left, right) × [top, bottom). */
export interface Jp2Rect {
  readonly left: number;
  readonly top: number;
  readonly right: number;
  readonly bottom: number;
}

export type Jp2DecoderKind = 'native' | 'wasm';

export interface Jp2Decoder {
  readonly kind: Jp2DecoderKind;
  /** For logs and /health: which OpenJPEG, and how it runs. */
  readonly description: string;
  /**
   * Whether a decode costs only the requested area (native) or the whole resolution level (the
   * WebAssembly fallback, which has no decode area: the caller bounds the level's size).
   */
  readonly decodesArea: boolean;
  /**
   * Whether decoded pixels have the file's ICC profile applied (sRGB out). When not, a decoder made
   * with `iccByCaller` returns them as coded (the caller embeds the profile), else it refuses the file.
   */
  readonly appliesIcc: boolean;
  /** Decodes `rect` of resolution level `reduce` (0: full resolution) of a JPEG 2000 source. */
  decode(source: ImageSource, header: Jp2Header, reduce: number, rect: Jp2Rect): Promise<Jp2Pixels>;
}

/** The area of `rect` of level `reduce` on the reference grid, as OpenJPEG's decode area takes it. */
export function referenceArea(header: Jp2Header, reduce: number, rect: Jp2Rect): { x0: number; y0: number; x1: number; y1: number } {
  const f = 2 ** reduce;
  const originX = Math.ceil(header.x0 / f);
  const originY = Math.ceil(header.y0 / f);
  return {
    x0: Math.max(header.x0, (originX + rect.left) * f),
    y0: Math.max(header.y0, (originY + rect.top) * f),
    x1: Math.min(header.x1, (originX + rect.right) * f),
    y1: Math.min(header.y1, (originY + rect.bottom) * f),
  };
}

/**
 * OpenJPEG 2.5.0 decodes HTJ2K code-blocks wrongly when the decode area cuts through a tile (the
 * sub-tile path; opj_decompress -d shows the same). For HTJ2K the area is therefore widened to whole
 * tiles, still at the reduced resolution, and the wanted rectangle cut out of the result.
 */
function wholeTiles(header: Jp2Header, area: { x0: number; y0: number; x1: number; y1: number }): { x0: number; y0: number; x1: number; y1: number } {
  const down = (v: number, origin: number, step: number): number => origin + Math.floor((v - origin) / step) * step;
  const up = (v: number, origin: number, step: number): number => origin + Math.ceil((v - origin) / step) * step;
  return {
    x0: Math.max(header.x0, down(area.x0, header.tileX0, header.tileWidth)),
    y0: Math.max(header.y0, down(area.y0, header.tileY0, header.tileHeight)),
    x1: Math.min(header.x1, up(area.x1, header.tileX0, header.tileWidth)),
    y1: Math.min(header.y1, up(area.y1, header.tileY0, header.tileHeight)),
  };
}

/**
 * The rectangle at (x, y) of size width × height out of interleaved pixels. A rectangle reaching
 * outside them is an error: copying fewer bytes would leave the new buffer partly unwritten.
 */
export function cut(pixels: Jp2Pixels, x: number, y: number, width: number, height: number): Jp2Pixels {
  const { channels } = pixels;
  if (x < 0 || y < 0 || x + width > pixels.width || y + height > pixels.height || pixels.data.length < pixels.width * pixels.height * channels) {
    throw new Error(`OpenJPEG returned ${pixels.width}×${pixels.height} pixels, short of the ${width}×${height} at (${x}, ${y}) asked for`);
  }
  if (x === 0 && y === 0 && width === pixels.width && height === pixels.height) return pixels;
  const data = Buffer.allocUnsafe(width * height * channels);
  const rowBytes = width * channels;
  for (let row = 0; row < height; row++) {
    const from = ((y + row) * pixels.width + x) * channels;
    pixels.data.copy(data, row * rowBytes, from, from + rowBytes);
  }
  return { data, width, height, channels };
}

/** Areas of at least this many output pixels are decoded with several OpenJPEG threads. */
const THREADED_PIXELS = 1024 * 1024;

/**
 * OpenJPEG threads for one decode of `pixels` output pixels: one for a tile (requests in parallel
 * already share the cores), up to four for large areas. Exported for the benchmark, which gives
 * opj_decompress the same number.
 */
export function jp2DecodeThreads(pixels: number): number {
  return pixels >= THREADED_PIXELS ? Math.min(4, cpus().length) : 1;
}

/** OpenJPEG in process through the native addon: decode area, reduce factor, threads. */
function nativeDecoder(native: NativeBinding & Required<Pick<NativeBinding, 'decodeJp2'>>, iccByCaller: boolean): Jp2Decoder {
  const appliesIcc = native.jp2ColourManagement === true;
  return {
    kind: 'native',
    description: `OpenJPEG ${native.openjpegVersion ?? ''} (native: decodes only the requested area${appliesIcc ? '' : '; no Little CMS: ICC profiles refused'})`.replace('  ', ' '),
    decodesArea: true,
    appliesIcc,
    async decode(source, header, reduce, rect) {
      if (header.icc && !appliesIcc && !iccByCaller) {
        throw new Error('an ICC profile needs Little CMS: install liblcms2-dev and rebuild the native addon');
      }
      const wanted = referenceArea(header, reduce, rect);
      const pixels = (rect.right - rect.left) * (rect.bottom - rect.top);
      // OpenJPEG reads the file through a descriptor: an object's is its local copy.
      const { descriptor } = await source.localFile();
      const decodeArea = async (area: typeof wanted): Promise<Jp2Pixels> => {
        const decoded = await native.decodeJp2({
          fd: descriptor,
          size: header.fileSize,
          codec: header.container === 'jp2' ? 1 : 0,
          reduce,
          ...area,
          threads: jp2DecodeThreads(pixels),
          fullResolution: header.palette,
        });
        const result = { ...decoded, channels: decoded.channels as Jp2Pixels['channels'] };
        if (area === wanted) return result;
        const f = 2 ** reduce;
        const x = Math.ceil(wanted.x0 / f) - Math.ceil(area.x0 / f);
        const y = Math.ceil(wanted.y0 / f) - Math.ceil(area.y0 / f);
        return cut(result, x, y, rect.right - rect.left, rect.bottom - rect.top);
      };
      if (header.packedHeaders) return decodeArea({ x0: header.x0, y0: header.y0, x1: header.x1, y1: header.y1 });
      if (header.htj2k) return decodeArea(wholeTiles(header, wanted));
      try {
        return await decodeArea(wanted);
      } catch (error) {
        // OpenJPEG's sub-tile path fails on some valid files (e.g. tiny tiles with SOP/EPH markers:
        // "Expected EPH marker"; opj_decompress -d fails the same) that decode whole: retry so.
        const tiles = wholeTiles(header, wanted);
        const same = tiles.x0 === wanted.x0 && tiles.y0 === wanted.y0 && tiles.x1 === wanted.x1 && tiles.y1 === wanted.y1;
        if (same) throw error;
        return decodeArea(tiles);
      }
    },
  };
}

export type Jp2DecoderChoice = 'auto' | Jp2DecoderKind;

/**
 * The JPEG 2000 decoder to use: the native one when the addon was built with OpenJPEG (Debian
 * libopenjp2-7-dev), else the WebAssembly build of OpenJPEG from npm, which works everywhere but
 * decodes whole resolution levels (slow on large images). `choice` forces one; forcing 'native'
 * without it is an error that says how to get it. `iccByCaller`: see Jp2Decoder.appliesIcc.
 */
export function chooseJp2Decoder(native: NativeBinding | undefined, choice: Jp2DecoderChoice = 'auto', iccByCaller = false): Jp2Decoder {
  const decodeJp2 = native?.decodeJp2;
  if (choice !== 'wasm' && native && decodeJp2) return nativeDecoder({ ...native, decodeJp2 }, iccByCaller);
  if (choice === 'native') {
    throw new Error(
      'jp2Decoder native: the native addon has no OpenJPEG decoder (install libopenjp2-7-dev, or brew install openjpeg, then npm rebuild)',
    );
  }
  return wasmDecoder(iccByCaller);
}
