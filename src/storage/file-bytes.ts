import { read, readSync } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { IiifError } from '../image-api/errors.js';
import type { ByteSource, LocalFile, RangeReader, SourceStorage } from './byte-source.js';

/** Reads up to this size (stored tiles are tens of KB) are done synchronously: see readIntoNow. */
const SYNC_READ_MAX = 256 * 1024;

/** A file's identity for caching: changes with its inode, size or modification time. */
export function fileVersion(info: { ino: number; size: number; mtimeMs: number }): string {
  return `${info.ino.toString(36)}-${info.size.toString(36)}-${Math.floor(info.mtimeMs).toString(36)}`;
}

/** A local file read with pread on a descriptor kept open: the hot path of tile serving. */
export class FileBytes implements ByteSource {
  private readonly fd: number;

  private constructor(
    readonly name: string,
    readonly size: number,
    readonly version: string,
    readonly modified: Date,
    private readonly file: FileHandle,
  ) {
    this.fd = file.fd;
  }

  static async open(path: string): Promise<FileBytes> {
    const file = await open(path, 'r');
    try {
      const info = await file.stat();
      return new FileBytes(path, info.size, fileVersion(info), info.mtime, file);
    } catch (error) {
      await file.close().catch(() => undefined);
      throw error;
    }
  }

  async read(offset: number, length: number): Promise<Buffer> {
    const buffer = Buffer.allocUnsafe(length);
    await this.readInto(buffer, 0, offset, length);
    return buffer;
  }

  readInto(target: Buffer, at: number, offset: number, length: number): Promise<void> {
    if (length <= SYNC_READ_MAX) {
      try {
        this.readIntoNow(target, at, offset, length);
        return Promise.resolve();
      } catch (error) {
        return Promise.reject(error as Error);
      }
    }
    // The callback API costs less per call than FileHandle.read, which matters at tile rates.
    return new Promise((resolve, reject) => {
      read(this.fd, target, at, length, offset, (error, bytesRead) => {
        if (error) reject(new IiifError(500, `${this.name}: ${error.message}`));
        else if (bytesRead !== length) reject(new IiifError(500, `${this.name}: short read (file truncated?)`));
        else resolve();
      });
    });
  }

  /**
   * A small read (a stored tile) done at once with pread on this thread: through libuv's thread
   * pool it would wait behind every native job there (libvips encodes, OpenJPEG and libjpeg-turbo
   * decodes, 4 threads by default), which is what made deep-zoom tiles slow under heavy renders.
   * From the page cache it costs microseconds, less than the hop to the pool. False above SYNC_READ_MAX.
   */
  readIntoNow(target: Buffer, at: number, offset: number, length: number): boolean {
    if (length > SYNC_READ_MAX) return false;
    let bytesRead: number;
    try {
      bytesRead = readSync(this.fd, target, at, length, offset);
    } catch (error) {
      throw new IiifError(500, `${this.name}: ${(error as Error).message}`);
    }
    if (bytesRead !== length) throw new IiifError(500, `${this.name}: short read (file truncated?)`);
    return true;
  }

  localFile(): Promise<LocalFile> {
    return Promise.resolve({ path: this.name, descriptor: this.fd });
  }

  async close(): Promise<void> {
    await this.file.close().catch(() => undefined);
  }
}

/** Files on the local file system, named by their real path (what FileResolver gives). */
export const fileStorage: SourceStorage = {
  open: (path) => FileBytes.open(path),
  version: async (path) => {
    const info = await stat(path).catch(() => undefined);
    return info && fileVersion(info);
  },
};

/** A RangeReader over a FileHandle the caller owns (the pipeline's own reads of masters). */
export function handleReader(file: FileHandle, size: number): RangeReader {
  return {
    size,
    async read(offset, length) {
      const buffer = Buffer.alloc(length);
      const { bytesRead } = await file.read(buffer, 0, length, offset);
      if (bytesRead !== length) throw new Error(`short read: ${bytesRead} of ${length} bytes at offset ${offset}`);
      return buffer;
    },
  };
}
