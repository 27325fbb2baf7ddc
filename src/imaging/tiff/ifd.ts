import type { RangeReader } from '../../storage/byte-source.js';
import { isSrgbProfile } from '../icc.js';

/**
 * A minimal reader of TIFF/BigTIFF directory structure: the image file directories (IFDs), their
 * SubIFDs, and the few tags Vitrine needs to plan requests (dimensions, tiling, compression) and to
 * pass stored JPEG tiles through untouched (tile offsets and byte counts, JPEGTables).
 *
 * libvips (sharp) decodes the pixels; it exposes neither tile offsets nor JPEGTables, which the
 * passthrough needs, and a general TIFF decoder library would parse far more than this, so the
 * directory walk is done here. It never reads pixel data.
 */
export const Tag = {
  NewSubfileType: 254,
  ImageWidth: 256,
  ImageLength: 257,
  BitsPerSample: 258,
  Compression: 259,
  Photometric: 262,
  StripOffsets: 273,
  SamplesPerPixel: 277,
  RowsPerStrip: 278,
  StripByteCounts: 279,
  PlanarConfiguration: 284,
  TileWidth: 322,
  TileLength: 323,
  TileOffsets: 324,
  TileByteCounts: 325,
  SubIFDs: 330,
  ExtraSamples: 338,
  JPEGTables: 347,
  ICCProfile: 34675,
} as const;

export const Compression = { None: 1, CCITTG4: 4, LZW: 5, OldJPEG: 6, JPEG: 7, Deflate: 8, AdobeDeflate: 32946 } as const;
export const Photometric = { MinIsWhite: 0, MinIsBlack: 1, RGB: 2, Palette: 3, CMYK: 5, YCbCr: 6 } as const;

export interface Ifd {
  readonly offset: number;
  readonly width: number;
  readonly height: number;
  readonly subfileType: number;
  readonly bitsPerSample: number;
  readonly samplesPerPixel: number;
  readonly compression: number;
  readonly photometric: number;
  readonly planar: number;
  readonly tileWidth?: number | undefined;
  readonly tileHeight?: number | undefined;
  readonly tileOffsets?: readonly number[] | undefined;
  readonly tileByteCounts?: readonly number[] | undefined;
  readonly jpegTables?: Buffer | undefined;
  /** The directory embeds an ICC profile (libvips then converts its pixels to sRGB on load). */
  readonly iccProfile: boolean;
  /** That profile is sRGB's (see isSrgbProfile): the pixels need no conversion. */
  readonly iccSrgb: boolean;
  readonly subIfds: readonly Ifd[];
}

export class TiffFormatError extends Error {
  override name = 'TiffFormatError';
}

const TYPE_SIZES: Record<number, number> = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4, 16: 8, 17: 8, 18: 8 };
const MAX_IFDS = 4096;
const MAX_ENTRIES = 4096;
const MAX_VALUES = 16 * 1024 * 1024;

interface Entry {
  readonly type: number;
  readonly count: number;
  /** The value bytes, already fetched (inline or from their offset). */
  readonly bytes: Buffer;
}

class Reader {
  private constructor(
    private readonly bytes: RangeReader,
    readonly little: boolean,
    readonly big: boolean,
    readonly size: number,
  ) {}

  static async open(bytes: RangeReader): Promise<{ reader: Reader; firstIfd: number }> {
    const { size } = bytes;
    if (size < 8) throw new TiffFormatError('file too short for a TIFF header');
    const header = Buffer.alloc(16);
    (await bytes.read(0, Math.min(16, size))).copy(header);
    const order = header.toString('latin1', 0, 2);
    if (order !== 'II' && order !== 'MM') throw new TiffFormatError('not a TIFF file (bad byte order mark)');
    const little = order === 'II';
    const magic = little ? header.readUInt16LE(2) : header.readUInt16BE(2);
    if (magic === 42) {
      return { reader: new Reader(bytes, little, false, size), firstIfd: little ? header.readUInt32LE(4) : header.readUInt32BE(4) };
    }
    if (magic === 43) {
      const first = little ? header.readBigUInt64LE(8) : header.readBigUInt64BE(8);
      return { reader: new Reader(bytes, little, true, size), firstIfd: Number(first) };
    }
    throw new TiffFormatError(`not a TIFF file (magic number ${magic})`);
  }

  async read(offset: number, length: number): Promise<Buffer> {
    if (offset < 0 || length < 0 || offset + length > this.size) {
      throw new TiffFormatError(`truncated TIFF: ${length} bytes at offset ${offset} lie beyond the end of the file (${this.size} bytes)`);
    }
    return this.bytes.read(offset, length);
  }

  u16(b: Buffer, at: number): number {
    return this.little ? b.readUInt16LE(at) : b.readUInt16BE(at);
  }
  u32(b: Buffer, at: number): number {
    return this.little ? b.readUInt32LE(at) : b.readUInt32BE(at);
  }
  u64(b: Buffer, at: number): number {
    return Number(this.little ? b.readBigUInt64LE(at) : b.readBigUInt64BE(at));
  }
  offset(b: Buffer, at: number): number {
    return this.big ? this.u64(b, at) : this.u32(b, at);
  }

  numbers(entry: Entry): number[] {
    const size = TYPE_SIZES[entry.type] ?? 1;
    const out: number[] = new Array(entry.count);
    for (let i = 0; i < entry.count; i++) {
      const at = i * size;
      switch (entry.type) {
        case 3:
          out[i] = this.u16(entry.bytes, at);
          break;
        case 4:
        case 13:
          out[i] = this.u32(entry.bytes, at);
          break;
        case 16:
        case 18:
          out[i] = this.u64(entry.bytes, at);
          break;
        default:
          out[i] = entry.bytes[at] ?? 0;
      }
    }
    return out;
  }
}

async function readEntries(reader: Reader, offset: number): Promise<{ entries: Map<number, Entry>; next: number }> {
  const countSize = reader.big ? 8 : 2;
  const entrySize = reader.big ? 20 : 12;
  const inline = reader.big ? 8 : 4;
  const countBuf = await reader.read(offset, countSize);
  const count = reader.big ? reader.u64(countBuf, 0) : reader.u16(countBuf, 0);
  if (count === 0 || count > MAX_ENTRIES) throw new TiffFormatError(`implausible IFD with ${count} entries at offset ${offset}`);
  const block = await reader.read(offset + countSize, count * entrySize + (reader.big ? 8 : 4));
  const entries = new Map<number, Entry>();
  for (let i = 0; i < count; i++) {
    const at = i * entrySize;
    const tag = reader.u16(block, at);
    const type = reader.u16(block, at + 2);
    const valueCount = reader.big ? reader.u64(block, at + 4) : reader.u32(block, at + 4);
    const typeSize = TYPE_SIZES[type];
    if (typeSize === undefined || valueCount > MAX_VALUES) continue;
    const length = typeSize * valueCount;
    const valueAt = at + (reader.big ? 12 : 8);
    const bytes = length <= inline ? block.subarray(valueAt, valueAt + length) : await reader.read(reader.offset(block, valueAt), length);
    entries.set(tag, { type, count: valueCount, bytes });
  }
  return { entries, next: reader.offset(block, count * entrySize) };
}

async function readIfd(reader: Reader, offset: number, depth: number): Promise<{ ifd: Ifd; next: number }> {
  const { entries, next } = await readEntries(reader, offset);
  const first = (tag: number, fallback?: number): number | undefined => {
    const entry = entries.get(tag);
    return entry ? reader.numbers(entry)[0] : fallback;
  };
  const list = (tag: number): number[] | undefined => {
    const entry = entries.get(tag);
    return entry ? reader.numbers(entry) : undefined;
  };
  const width = first(Tag.ImageWidth);
  const height = first(Tag.ImageLength);
  if (!width || !height) throw new TiffFormatError(`IFD at offset ${offset} has no image dimensions`);
  const subIfds: Ifd[] = [];
  if (depth === 0) {
    for (const sub of list(Tag.SubIFDs) ?? []) subIfds.push((await readIfd(reader, sub, depth + 1)).ifd);
  }
  const tables = entries.get(Tag.JPEGTables);
  const icc = entries.get(Tag.ICCProfile);
  const ifd: Ifd = {
    offset,
    width,
    height,
    subfileType: first(Tag.NewSubfileType, 0)!,
    bitsPerSample: first(Tag.BitsPerSample, 1)!,
    samplesPerPixel: first(Tag.SamplesPerPixel, 1)!,
    compression: first(Tag.Compression, 1)!,
    photometric: first(Tag.Photometric, 1)!,
    planar: first(Tag.PlanarConfiguration, 1)!,
    tileWidth: first(Tag.TileWidth),
    tileHeight: first(Tag.TileLength),
    tileOffsets: list(Tag.TileOffsets),
    tileByteCounts: list(Tag.TileByteCounts),
    jpegTables: tables ? Buffer.from(tables.bytes) : undefined,
    iccProfile: icc !== undefined,
    iccSrgb: icc !== undefined && isSrgbProfile(icc.bytes),
    subIfds,
  };
  return { ifd, next };
}

/**
 * Reads every top-level IFD of a TIFF (with their SubIFDs). A chain whose next-IFD offset points
 * back to a directory already read (a loop), or that runs past MAX_IFDS, ends there: the
 * directories read before are kept, as libtiff and libvips keep them, and `warn` says why.
 */
export async function readIfds(bytes: RangeReader, warn: (message: string) => void = () => undefined): Promise<Ifd[]> {
  const { reader, firstIfd } = await Reader.open(bytes);
  const ifds: Ifd[] = [];
  const seen = new Set<number>();
  let offset = firstIfd;
  while (offset !== 0) {
    if (seen.has(offset) || ifds.length >= MAX_IFDS) {
      const why = seen.has(offset) ? `loops back to the directory at offset ${offset}` : `is longer than ${MAX_IFDS} directories`;
      warn(`the TIFF's IFD chain ${why}: reading the first ${ifds.length} directories only`);
      break;
    }
    seen.add(offset);
    const { ifd, next } = await readIfd(reader, offset, 0);
    ifds.push(ifd);
    offset = next;
  }
  return ifds;
}
