import { open, type FileHandle } from 'node:fs/promises';
import { Compression, Photometric, Tag } from './ifd.js';

/** An image written row band by row band as an uncompressed 8-bit BigTIFF. */
export interface StripTiffImage {
  readonly width: number;
  readonly height: number;
  /** 1 grey, 2 grey + alpha, 3 RGB, 4 RGB + alpha (unassociated). */
  readonly channels: 1 | 2 | 3 | 4;
  /** Rows per TIFF strip: what a sequential reader holds at once. */
  readonly rowsPerStrip: number;
  /** An ICC profile to embed (InterColorProfile), so readers colour-manage the pixels. */
  readonly iccProfile?: Buffer | undefined;
}

const SHORT = 3;
const LONG = 4;
const UNDEFINED = 7;
const LONG8 = 16;
const HEADER = 16;
const ENTRY = 20;

/**
 * Writes decoded pixels to disk so that libvips can stream them back (sequential access) in bounded
 * memory: sharp takes raw pixels only as one Buffer of the whole image. Hand-written because no
 * library writes a TIFF incrementally from Node; it is the simplest TIFF there is: BigTIFF (no 4 GB
 * limit), one IFD placed before the pixels (every strip's offset is known in advance), chunky
 * uncompressed 8-bit samples in strips of `rowsPerStrip` rows, appended in order by writeRows().
 */
export class StripTiffWriter {
  #written = 0;

  private constructor(
    private readonly file: FileHandle,
    private readonly image: StripTiffImage,
    private position: number,
  ) {}

  static async create(path: string, image: StripTiffImage): Promise<StripTiffWriter> {
    const { width, height, channels, rowsPerStrip, iccProfile } = image;
    const rowBytes = width * channels;
    const strips = Math.ceil(height / rowsPerStrip);
    const entries: [tag: number, type: number, count: number, value: number | Buffer][] = [];
    // Out-of-line arrays go after the IFD, in this order; their offsets are filled in below.
    const stripOffsets = Buffer.alloc(strips * 8);
    const stripCounts = Buffer.alloc(strips * 8);
    entries.push([Tag.ImageWidth, LONG, 1, width]);
    entries.push([Tag.ImageLength, LONG, 1, height]);
    const bits = Buffer.alloc(channels * 2);
    for (let c = 0; c < channels; c++) bits.writeUInt16LE(8, c * 2);
    entries.push([Tag.BitsPerSample, SHORT, channels, bits]);
    entries.push([Tag.Compression, SHORT, 1, Compression.None]);
    entries.push([Tag.Photometric, SHORT, 1, channels >= 3 ? Photometric.RGB : Photometric.MinIsBlack]);
    entries.push([Tag.StripOffsets, LONG8, strips, stripOffsets]);
    entries.push([Tag.SamplesPerPixel, SHORT, 1, channels]);
    entries.push([Tag.RowsPerStrip, LONG, 1, rowsPerStrip]);
    entries.push([Tag.StripByteCounts, LONG8, strips, stripCounts]);
    entries.push([Tag.PlanarConfiguration, SHORT, 1, 1]);
    if (channels === 2 || channels === 4) entries.push([Tag.ExtraSamples, SHORT, 1, 2]);
    if (iccProfile) entries.push([Tag.ICCProfile, UNDEFINED, iccProfile.length, iccProfile]);

    const ifdSize = 8 + entries.length * ENTRY + 8;
    const outOfLine = entries.filter(([, , , value]) => Buffer.isBuffer(value) && value.length > 8);
    let extra = HEADER + ifdSize;
    const offsets = new Map<Buffer, number>();
    for (const [, , , value] of outOfLine) {
      offsets.set(value as Buffer, extra);
      extra += (value as Buffer).length + ((value as Buffer).length % 2); // word-aligned
    }
    const pixels = extra;
    for (let s = 0; s < strips; s++) {
      const rows = Math.min(rowsPerStrip, height - s * rowsPerStrip);
      stripOffsets.writeBigUInt64LE(BigInt(pixels + s * rowsPerStrip * rowBytes), s * 8);
      stripCounts.writeBigUInt64LE(BigInt(rows * rowBytes), s * 8);
    }

    const head = Buffer.alloc(pixels);
    head.write('II', 0, 'latin1');
    head.writeUInt16LE(43, 2); // BigTIFF
    head.writeUInt16LE(8, 4); // offset size
    head.writeBigUInt64LE(BigInt(HEADER), 8);
    head.writeBigUInt64LE(BigInt(entries.length), HEADER);
    entries.sort((a, b) => a[0] - b[0]);
    entries.forEach(([tag, type, count, value], i) => {
      const at = HEADER + 8 + i * ENTRY;
      head.writeUInt16LE(tag, at);
      head.writeUInt16LE(type, at + 2);
      head.writeBigUInt64LE(BigInt(count), at + 4);
      if (!Buffer.isBuffer(value)) {
        if (type === SHORT) head.writeUInt16LE(value, at + 12);
        else head.writeUInt32LE(value, at + 12);
      } else if (value.length <= 8) {
        value.copy(head, at + 12);
      } else {
        head.writeBigUInt64LE(BigInt(offsets.get(value)!), at + 12);
        value.copy(head, offsets.get(value)!);
      }
    });
    // The next-IFD offset (0) is already there.
    const file = await open(path, 'w');
    try {
      await file.write(head, 0, head.length, 0);
    } catch (error) {
      await file.close();
      throw error;
    }
    return new StripTiffWriter(file, image, pixels);
  }

  get channels(): number {
    return this.image.channels;
  }

  /** Appends the next rows (`rows × width × channels` bytes, interleaved). */
  async writeRows(data: Buffer): Promise<void> {
    const rowBytes = this.image.width * this.image.channels;
    if (data.length % rowBytes !== 0) throw new Error(`writeRows: ${data.length} bytes is not a whole number of ${rowBytes}-byte rows`);
    const rows = data.length / rowBytes;
    if (this.#written + rows > this.image.height) throw new Error(`writeRows: more than the image's ${this.image.height} rows`);
    await this.file.write(data, 0, data.length, this.position);
    this.position += data.length;
    this.#written += rows;
  }

  /** Closes the file; throws when rows are missing (a short file would read as a damaged master). */
  async close(): Promise<void> {
    await this.file.close();
    if (this.#written !== this.image.height) throw new Error(`only ${this.#written} of ${this.image.height} rows were written`);
  }

  /** Closes the file as it is (the caller removes it). */
  async abandon(): Promise<void> {
    await this.file.close().catch(() => undefined);
  }
}
