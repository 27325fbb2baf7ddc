import type { Dimensions } from '../image-api/request.js';
import type { LocalFile } from '../storage/byte-source.js';
import type { Jp2Header } from './jp2/codestream.js';

export type SourceFormat = 'tiff' | 'jpeg' | 'png' | 'jp2';

/**
 * Where a resolution level lives inside the file: as sharp addresses it (a TIFF page or SubIFD), or
 * as OpenJPEG does (the number of highest resolution levels a JPEG 2000 decode discards).
 */
export type LevelAddress = { readonly page: number } | { readonly subifd: number } | { readonly reduce: number };

/** A stored JPEG-compressed tile grid that can be sent as is. */
export interface JpegTileGrid {
  readonly offsets: readonly number[];
  readonly byteCounts: readonly number[];
  /** The abbreviated stream's tables (SOI … EOI), or undefined when each tile is self-contained. */
  readonly tables?: Buffer | undefined;
  /** True when the components are RGB rather than YCbCr (the stream then needs an Adobe marker). */
  readonly rgb: boolean;
  readonly grey: boolean;
}

export interface Level extends Dimensions {
  readonly address: LevelAddress;
  /** Downsampling factor against level 0 (1, 2, 4, … for a regular pyramid). */
  readonly scale: number;
  readonly tile?: Dimensions | undefined;
  readonly jpegTiles?: JpegTileGrid | undefined;
  /** The level embeds an ICC profile: libvips converts its pixels to sRGB when it decodes them. */
  readonly iccProfile?: boolean | undefined;
  /** That profile is sRGB's: the stored pixels are sRGB already (sent and decoded as they are). */
  readonly iccProfileSrgb?: boolean | undefined;
  /**
   * The level's pixels are decoded by the system libtiff (native addon), not by sharp's, which
   * lacks its compression (old-style JPEG); the directory's offset in the file.
   */
  readonly libtiff?: { readonly ifdOffset: number } | undefined;
}

export interface SourceInfo extends Dimensions {
  readonly format: SourceFormat;
  /** Resolution levels, full resolution first, each smaller than the one before. */
  readonly levels: readonly Level[];
  /** Tile size advertised in info.json. */
  readonly tile: Dimensions;
  /** Whether reading a region decodes only the stored tiles it covers (vs the whole image). */
  readonly tiled: boolean;
  /** sharp's autoOrient for sources whose EXIF orientation must be applied. */
  readonly autoOrient: boolean;
  /** For JPEG 2000: the codestream's header (the decoder needs its reference grid). */
  readonly jp2?: Jp2Header | undefined;
}

/**
 * An opened image: its identity for caching, what was learnt from its header, and its bytes (read by
 * range: a local file or an S3 object alike).
 */
export interface ImageSource {
  /** Where it comes from, for messages and cache keys: a path, or s3://bucket/key. */
  readonly name: string;
  /** Changes whenever the stored bytes change (a file's mtime, size, inode; an object's ETag). */
  readonly version: string;
  readonly modified: Date;
  readonly info: SourceInfo;
  /** Reads `length` bytes at `offset` (stored-tile passthrough, region decoding). */
  readBytes(offset: number, length: number): Promise<Buffer>;
  /** The same into `target` at `at` (no buffer of its own), where the storage can. */
  readBytesInto?(target: Buffer, at: number, offset: number, length: number): Promise<void>;
  /** The same at once where the storage can (a small read of a local file); false when it cannot; throws on a failed read. */
  readBytesIntoNow?(target: Buffer, at: number, offset: number, length: number): boolean;
  /**
   * A local file with the same bytes and an open descriptor on it, for decoders that need one
   * (libvips, libtiff, OpenJPEG's native reader): the file itself, or a bounded local download.
   */
  localFile(): Promise<LocalFile>;
}
