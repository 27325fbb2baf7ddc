import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

/** A region of one tiled level to decode with libjpeg-turbo (see native/src/region_decode.h). */
export interface JpegTilesJob {
  /** The level's JPEGTables (a tables-only stream), when its tiles are abbreviated streams. */
  readonly tables: Buffer | undefined;
  /** Each stored tile's JPEG stream, as read from the file. */
  readonly tiles: readonly Buffer[];
  /** Per tile: srcX, srcY, width, height (in the decoded tile), dstX, dstY (in `out`), in output pixels. */
  readonly placements: Int32Array;
  /** The tiles' full-resolution size: every stream must have it. */
  readonly tileWidth: number;
  readonly tileHeight: number;
  /** DCT scaling: the tiles are decoded at 1/denominator of their size. */
  readonly denominator: 1 | 2 | 4 | 8;
  /** 0: greyscale; 1: YCbCr, converted to RGB; 2: RGB components stored as they are. */
  readonly colour: 0 | 1 | 2;
  /**
   * Colour tiles written out as one grey channel, converted as libvips converts sRGB to greyscale
   * (luminance of the linear values): what the `gray` and `bitonal` qualities need, at a third of the bytes.
   */
  readonly grey?: boolean;
  /** Receives width × height × (1 or 3) bytes, row-major, interleaved. */
  readonly out: Buffer;
  readonly width: number;
  readonly height: number;
}

/** Raw pixels to upsize with libvips' bicubic interpolation, separably (see native/src/upscale_core.cc). */
export interface UpscaleJob {
  /** width × height × channels bytes, row-major, interleaved. */
  readonly data: Buffer;
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 2 | 3 | 4;
  /** Receives outWidth × outHeight × channels bytes; at least as large as the input each way. */
  readonly out: Buffer;
  readonly outWidth: number;
  readonly outHeight: number;
}

/** Decoded pixels to finish in the addon (see native/src/finish_core.h): resize, mirror, turn, threshold, encode. */
export interface FinishJob {
  /** width × height × channels bytes, row-major, interleaved. */
  readonly data: Buffer;
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 3;
  /** The size asked, before turning. */
  readonly outWidth: number;
  readonly outHeight: number;
  readonly kernel: 'linear' | 'cubic' | 'mitchell' | 'lanczos2' | 'lanczos3';
  readonly mirror: boolean;
  /** Clockwise, after mirroring. */
  readonly rotation: 0 | 90 | 180 | 270;
  /** 255 from 128 on, else 0 (grey pixels only): the bitonal quality. */
  readonly threshold: boolean;
  /** JPEG quality 1–100; 0 for the raw pixels (turned) instead. */
  readonly quality: number;
}

/** An area of a JPEG 2000 file to decode with OpenJPEG (see native/src/jp2_decode.h). */
export interface Jp2DecodeJob {
  /** An open descriptor of the file (read with pread) and the file's size. */
  readonly fd: number;
  readonly size: number;
  /** 0: raw J2K codestream; 1: JP2 file. */
  readonly codec: 0 | 1;
  /** Highest resolution levels to discard (1 halves each side). */
  readonly reduce: number;
  /** The area on the reference grid (full resolution): [x0, x1) × [y0, y1). */
  readonly x0: number;
  readonly y0: number;
  readonly x1: number;
  readonly y1: number;
  readonly threads: number;
  /** Decode at full resolution and average down to `reduce` (palette images: indices cannot be reduced). */
  readonly fullResolution?: boolean;
}

/** A rectangle of one TIFF directory to decode with the system libtiff (see native/src/tiff_rgba.h). */
export interface TiffRgbaJob {
  /** An open descriptor of the file (read with pread) and the file's size. */
  readonly fd: number;
  readonly size: number;
  /** The directory's offset in the file (top-level IFD or SubIFD). */
  readonly offset: number;
  /** The rectangle in the directory's pixels: [x0, x1) × [y0, y1). */
  readonly x0: number;
  readonly y0: number;
  readonly x1: number;
  readonly y1: number;
}

/** Options of the native JPEG 2000 encoder (see native/src/jp2_encode.h). */
export interface NativeJp2EncoderOptions {
  readonly path: string;
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 3;
  readonly tileSize: number;
  readonly resolutions: number;
  /** Precinct side per resolution level, highest first; the last one holds for the levels below. */
  readonly precincts: number[];
  readonly lossless: boolean;
  /** Quality layers in dB of PSNR, increasing (lossy only). */
  readonly psnr: number[];
  readonly threads: number;
}

/** A JP2 file being encoded tile row by tile row, tiles in parallel on threads of the addon's own. */
export interface NativeJp2Encoder {
  writeStrip(strip: Buffer): Promise<void>;
  /** Reads the image as an 8-bit grey or RGB PNG with stored (level 0) zlib blocks from a pipe or file, on a thread of its own. */
  readPng(path: string): Promise<void>;
  /** Tells readPng that the pipe's writer is done, and whether it failed. */
  endInput(failed: boolean): void;
  finish(): Promise<void>;
  abort(): void;
}

/** What the optional native addon (native/, built by `npm ci` when libturbojpeg is installed) offers. */
export interface NativeBinding {
  /** Lossless crop of the top-left width×height of a baseline JPEG (jpegtran -crop), no pixel decode. */
  cropJpeg(jpeg: Buffer, width: number, height: number): Buffer;
  /**
   * cropJpeg's fast way alone (sequential Huffman-coded 8-bit streams, as pyramidal TIFFs store
   * them: DC differences rewritten, nothing else transcoded), written over `jpeg`: the cropped
   * stream's length, or 0 (`jpeg` unchanged) when the stream is outside it or the crop would not
   * fit. Saves making a new Buffer. Absent in addons built before it existed.
   */
  cropJpegInPlace?(jpeg: Buffer, width: number, height: number): number;
  /** cropJpeg by libjpeg-turbo's tjTransform alone, as cropJpeg does what its fast way declines (tests, benchmarks). */
  cropJpegTransform?(jpeg: Buffer, width: number, height: number): Buffer;
  /**
   * Decodes the parts of stored JPEG tiles a region needs into `out`, on libuv's thread pool. Absent
   * when the addon was built without libjpeg's headers (jpeglib.h).
   */
  decodeJpegTiles?(job: JpegTilesJob): Promise<void>;
  /**
   * Upsizes raw pixels into `out` on libuv's thread pool, byte for byte what sharp's resize() gives
   * with a cubic-family kernel (libvips' bicubic affine), several times faster. Absent in an addon
   * built before it existed.
   */
  upscaleBicubic?(job: UpscaleJob): Promise<void>;
  /**
   * Resizes (libvips' reduce and bicubic upsizing, the same bytes), mirrors, turns by a multiple of
   * 90°, thresholds and JPEG-encodes (libjpeg-turbo) decoded pixels in one job on libuv's thread
   * pool; resolves with the JPEG, or the raw pixels when `quality` is 0. Throws for a job it cannot
   * do as libvips would (see finishesNatively). Absent when built without jpeglib.h.
   */
  finishPixels?(job: FinishJob): Promise<Buffer>;
  /**
   * Decodes an area of a JPEG 2000 file at a reduced resolution with OpenJPEG, on libuv's thread
   * pool (see native/src/jp2_decode.h). Absent when the addon was built without OpenJPEG.
   */
  decodeJp2?(job: Jp2DecodeJob): Promise<{ data: Buffer; width: number; height: number; channels: number }>;
  /**
   * Decodes a rectangle of a TIFF directory with the system libtiff's RGBA interface, on libuv's
   * thread pool: 1 (grey), 3 (RGB) or 4 (RGBA) channels. For what sharp's libtiff lacks (old-style
   * JPEG). Absent when the addon was built without libtiff's headers (tiffio.h).
   */
  decodeTiffRgba?(job: TiffRgbaJob): Promise<{ data: Buffer; width: number; height: number; channels: number }>;
  /** The libtiff version the addon was built with, when it was. */
  readonly libtiffVersion?: string;
  /**
   * Gives the allocator's free memory back to the system (glibc malloc_trim); true when some was.
   * Absent in addons built before it existed; false where the C library is not glibc.
   */
  trimMemory?(): boolean;
  /**
   * Makes glibc keep freed memory for reuse: at most `arenas` heaps, allocations under 32 MB served
   * from them, up to `keepBytes` of free memory kept at each heap's top (see native/src/memory.cc).
   * True when glibc took every setting; false where the C library is not glibc. Absent in addons
   * built before it existed.
   */
  keepFreedMemory?(arenas: number, keepBytes: number): boolean;
  /** The OpenJPEG version the addon was built with, when it was. */
  readonly openjpegVersion?: string;
  /** Whether the JPEG 2000 decoder applies ICC profiles and converts CIELab (built with Little CMS). */
  readonly jp2ColourManagement?: boolean;
  /** JPEG 2000 encoder (see native/src/jp2_encode.h). Absent when the addon was built without OpenJPEG. */
  readonly Jp2Encoder?: new (options: NativeJp2EncoderOptions) => NativeJp2Encoder;
  /** Creates a named pipe (mode 0600); present with Jp2Encoder. */
  makeFifo?(path: string): void;
}

const ADDON = path.resolve(import.meta.dirname, '../../native/build/Release/vitrine_native.node');

let loaded: { binding: NativeBinding | undefined; reason: string } | undefined;

/**
 * The native addon if it was built and is not switched off (VITRINE_NATIVE=off), with the reason
 * when it is not there. Everything it does has a slower fallback on libvips.
 */
export function nativeAddon(): { binding: NativeBinding | undefined; reason: string } {
  if (loaded) return loaded;
  if (process.env.VITRINE_NATIVE === 'off') {
    loaded = { binding: undefined, reason: 'switched off by VITRINE_NATIVE=off' };
  } else if (!existsSync(ADDON)) {
    loaded = { binding: undefined, reason: 'not built (install libturbojpeg0-dev, then npm rebuild)' };
  } else {
    try {
      loaded = { binding: createRequire(import.meta.url)(ADDON) as NativeBinding, reason: 'loaded' };
    } catch (error) {
      loaded = { binding: undefined, reason: `cannot be loaded: ${(error as Error).message}` };
    }
  }
  return loaded;
}
