import type { Dimensions } from '../image-api/request.js';
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

/** An opened image file: its path, its identity for caching, and what was learnt from its header. */
export interface ImageSource {
  readonly path: string;
  /** Changes whenever the file changes (mtime, size, inode). */
  readonly version: string;
  readonly modified: Date;
  readonly info: SourceInfo;
  /** The open file's descriptor, for native readers (pread: they never move its offset). */
  readonly descriptor: number;
  /** Reads `length` bytes at `offset` (for stored-tile passthrough). */
  readBytes(offset: number, length: number): Promise<Buffer>;
}
