import sharp from './sharp.js';
import { IiifError } from '../image-api/errors.js';
import type { ByteSource, LocalFile } from '../storage/byte-source.js';
import { FileBytes } from '../storage/file-bytes.js';
import { Jp2FormatError } from './jp2/codestream.js';
import { jp2Info } from './jp2/info.js';
import type { ImageSource, SourceFormat, SourceInfo } from './source.js';
import { readIfds, TiffFormatError } from './tiff/ifd.js';
import { pyramidLevels } from './tiff/levels.js';

/** Tile size advertised for sources without stored tiles (each request decodes the image anyway). */
const UNTILED_TILE = 512;

export function sniffFormat(head: Buffer): SourceFormat | undefined {
  if (head.length >= 4 && (head.toString('latin1', 0, 4) === 'II*\0' || head.toString('latin1', 0, 4) === 'MM\0*')) return 'tiff';
  if (head.length >= 4 && (head.toString('latin1', 0, 4) === 'II+\0' || head.toString('latin1', 0, 4) === 'MM\0+')) return 'tiff';
  if (head.length >= 3 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return 'jpeg';
  if (head.length >= 8 && head.readUInt32BE(0) === 0x89504e47 && head.readUInt32BE(4) === 0x0d0a1a0a) return 'png';
  if (head.length >= 12 && head.toString('latin1', 4, 8) === 'jP  ') return 'jp2';
  if (head.length >= 4 && head.readUInt32BE(0) === 0xff4fff51) return 'jp2';
  return undefined;
}

/** An image over its bytes: what the header said, and the bytes (closed with the source). */
class StoredImageSource implements ImageSource {
  readonly name: string;
  readonly version: string;
  readonly modified: Date;

  constructor(
    readonly info: SourceInfo,
    private readonly bytes: ByteSource,
  ) {
    this.name = bytes.name;
    this.version = bytes.version;
    this.modified = bytes.modified;
  }

  readBytes(offset: number, length: number): Promise<Buffer> {
    return this.bytes.read(offset, length);
  }

  async readBytesInto(target: Buffer, at: number, offset: number, length: number): Promise<void> {
    if (this.bytes.readInto) return this.bytes.readInto(target, at, offset, length);
    (await this.bytes.read(offset, length)).copy(target, at);
  }

  readBytesIntoNow(target: Buffer, at: number, offset: number, length: number): boolean {
    return this.bytes.readIntoNow?.(target, at, offset, length) ?? false;
  }

  localFile(): Promise<LocalFile> {
    return this.bytes.localFile();
  }

  close(): Promise<void> {
    return this.bytes.close();
  }
}

export type OpenedSource = ImageSource & { close(): Promise<void> };

/** Opens an image file and reads what requests need from its header, never its pixels. */
export async function openSource(path: string): Promise<OpenedSource> {
  return openImage(await FileBytes.open(path));
}

/**
 * Reads what requests need from an image's header, never its pixels, through its bytes; the source
 * owns `bytes` from then on (closed with it, or at once when the header cannot be read).
 */
export async function openImage(bytes: ByteSource): Promise<OpenedSource> {
  try {
    const head = await bytes.read(0, Math.min(16, bytes.size));
    const format = sniffFormat(head);
    if (format === undefined) throw new IiifError(501, 'the file is not an image format Vitrine can read (TIFF, JPEG, PNG, JPEG 2000)');
    const sourceInfo = format === 'tiff' ? await tiffInfo(bytes) : format === 'jp2' ? await jp2Info(bytes) : await plainInfo(bytes, format);
    return new StoredImageSource(sourceInfo, bytes);
  } catch (error) {
    await bytes.close().catch(() => undefined);
    if (error instanceof TiffFormatError || error instanceof Jp2FormatError) throw new IiifError(500, `cannot read image: ${error.message}`);
    throw error;
  }
}

async function tiffInfo(bytes: ByteSource): Promise<SourceInfo> {
  // A damaged directory chain (a loop) keeps the directories before it; operators hear about it.
  const ifds = await readIfds(bytes, (message) => process.emitWarning(`${bytes.name}: ${message}`, 'TiffWarning'));
  const levels = pyramidLevels(ifds);
  const base = levels[0];
  if (!base) throw new TiffFormatError('TIFF has no image');
  const tiled = base.tile !== undefined;
  return {
    format: 'tiff',
    width: base.width,
    height: base.height,
    levels,
    tile: base.tile ?? { width: UNTILED_TILE, height: UNTILED_TILE },
    tiled,
    autoOrient: false,
  };
}

/** A JPEG or PNG: libvips reads its header from a local file (for an object, the local copy). */
async function plainInfo(bytes: ByteSource, format: SourceFormat): Promise<SourceInfo> {
  const { path } = await bytes.localFile();
  const meta = await sharp(path, { autoOrient: true }).metadata().catch((error: Error) => {
    throw new IiifError(500, `cannot read image: ${error.message}`);
  });
  const width = meta.autoOrient?.width ?? meta.width;
  const height = meta.autoOrient?.height ?? meta.height;
  if (!width || !height) throw new IiifError(500, 'cannot read image dimensions');
  return {
    format,
    width,
    height,
    levels: [{ width, height, address: { page: 0 }, scale: 1 }],
    tile: { width: UNTILED_TILE, height: UNTILED_TILE },
    tiled: false,
    autoOrient: true,
  };
}
