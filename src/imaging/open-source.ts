import { read, readSync } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import sharp from 'sharp';
import { IiifError } from '../image-api/errors.js';
import { Jp2FormatError } from './jp2/codestream.js';
import { jp2Info } from './jp2/info.js';
import type { ImageSource, SourceFormat, SourceInfo } from './source.js';
import { readIfds, TiffFormatError } from './tiff/ifd.js';
import { pyramidLevels } from './tiff/levels.js';

/** Reads up to this size (stored tiles are tens of KB) are done synchronously: see readNow. */
const SYNC_READ_MAX = 256 * 1024;

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

class FileImageSource implements ImageSource {
  readonly descriptor: number;

  constructor(
    readonly path: string,
    readonly version: string,
    readonly modified: Date,
    readonly info: SourceInfo,
    private readonly file: FileHandle,
  ) {
    this.descriptor = file.fd;
  }

  readBytes(offset: number, length: number): Promise<Buffer> {
    if (length <= SYNC_READ_MAX) return this.readNow(offset, length);
    // The callback API costs less per call than FileHandle.read, which matters at tile rates.
    return new Promise((resolve, reject) => {
      const buffer = Buffer.allocUnsafe(length);
      read(this.file.fd, buffer, 0, length, offset, (error, bytesRead) => {
        if (error) reject(new IiifError(500, `${this.path}: ${error.message}`));
        else if (bytesRead !== length) reject(new IiifError(500, `${this.path}: short read (file truncated?)`));
        else resolve(buffer);
      });
    });
  }

  /**
   * A small read (a stored tile) done at once with pread on this thread: through libuv's thread
   * pool it would wait behind every native job there (libvips encodes, OpenJPEG and libjpeg-turbo
   * decodes, 4 threads by default), which is what made deep-zoom tiles slow under heavy renders.
   * From the page cache it costs microseconds, less than the hop to the pool.
   */
  private readNow(offset: number, length: number): Promise<Buffer> {
    const buffer = Buffer.allocUnsafe(length);
    let bytesRead: number;
    try {
      bytesRead = readSync(this.file.fd, buffer, 0, length, offset);
    } catch (error) {
      return Promise.reject(new IiifError(500, `${this.path}: ${(error as Error).message}`));
    }
    if (bytesRead !== length) return Promise.reject(new IiifError(500, `${this.path}: short read (file truncated?)`));
    return Promise.resolve(buffer);
  }

  async close(): Promise<void> {
    await this.file.close().catch(() => undefined);
  }
}

export type OpenedSource = ImageSource & { close(): Promise<void> };

/** Opens an image file and reads what requests need from its header, never its pixels. */
export async function openSource(path: string): Promise<OpenedSource> {
  const file = await open(path, 'r');
  try {
    const info = await file.stat();
    const head = Buffer.alloc(16);
    await file.read(head, 0, 16, 0);
    const format = sniffFormat(head);
    const version = `${info.ino.toString(36)}-${info.size.toString(36)}-${Math.floor(info.mtimeMs).toString(36)}`;
    if (format === undefined) throw new IiifError(501, 'the file is not an image format Vitrine can read (TIFF, JPEG, PNG, JPEG 2000)');
    const sourceInfo =
      format === 'tiff' ? await tiffInfo(path, file, info.size) : format === 'jp2' ? await jp2Info(file, info.size) : await plainInfo(path, format);
    return new FileImageSource(path, version, info.mtime, sourceInfo, file);
  } catch (error) {
    await file.close().catch(() => undefined);
    if (error instanceof TiffFormatError || error instanceof Jp2FormatError) throw new IiifError(500, `cannot read image: ${error.message}`);
    throw error;
  }
}

async function tiffInfo(path: string, file: FileHandle, size: number): Promise<SourceInfo> {
  // A damaged directory chain (a loop) keeps the directories before it; operators hear about it.
  const ifds = await readIfds(file, size, (message) => process.emitWarning(`${path}: ${message}`, 'TiffWarning'));
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

async function plainInfo(path: string, format: SourceFormat): Promise<SourceInfo> {
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

export { stat };
