/**
 * The bytes of one stored image, wherever they live (a local file, an S3 object): header parsers
 * (TIFF directories, JP2 boxes), stored-tile passthrough and region decoding read through this, so
 * the same code serves files and objects. Only decoders that truly need a file (libvips on an
 * untiled image, libtiff, OpenJPEG's native reader) ask for `localFile()`.
 */
export interface ByteSource {
  /** Where the bytes come from, for messages and cache keys: a path, or s3://bucket/key. */
  readonly name: string;
  readonly size: number;
  /** Changes whenever the bytes change (a file's inode, size and mtime; an object's ETag). */
  readonly version: string;
  readonly modified: Date;
  /** Exactly `length` bytes at `offset`, or a rejection (never a short buffer). */
  read(offset: number, length: number): Promise<Buffer>;
  /** The same into `target` at `at`, where the storage can (a file: pread into the caller's buffer, no buffer of its own). */
  readInto?(target: Buffer, at: number, offset: number, length: number): Promise<void>;
  /**
   * The same done at once, where the storage can without waiting (a small read of a local file):
   * false when it cannot (the caller then awaits readInto); throws what readInto would reject with.
   */
  readIntoNow?(target: Buffer, at: number, offset: number, length: number): boolean;
  /**
   * A local file holding these bytes and an open descriptor on it (read with pread), valid until
   * `close()`: the file itself, or a download kept in the local cache.
   */
  localFile(): Promise<LocalFile>;
  close(): Promise<void>;
}

export interface LocalFile {
  readonly path: string;
  readonly descriptor: number;
}

/** What header parsers need: the size and ranged reads. */
export type RangeReader = Pick<ByteSource, 'size' | 'read'>;

/** Opens stored images by the locator a resolver gave (a real path, an object key). */
export interface SourceStorage {
  open(locator: string): Promise<ByteSource>;
  /** The current version of what `locator` names (undefined when it is gone): a cheap re-validation. */
  version(locator: string): Promise<string | undefined>;
}
