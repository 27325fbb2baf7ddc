import { createHash } from 'node:crypto';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import type { Readable } from 'node:stream';
import { IiifError } from '../image-api/errors.js';
import type { ByteSource, SourceStorage } from './byte-source.js';
import { DiskCache } from './disk-cache.js';
import { S3Bytes } from './s3-bytes.js';
import { parseS3Url, type S3Location } from './s3-location.js';

export interface S3StorageOptions {
  /** An S3-compatible store's URL (MinIO, Ceph, s3rver…); AWS when absent. */
  readonly endpoint?: string | undefined;
  readonly region?: string | undefined;
  /** Path-style addressing (http://host/bucket/key): default on when an endpoint is given. */
  readonly forcePathStyle?: boolean | undefined;
  /** The local cache of fetched ranges and local copies, and its bound in bytes. */
  readonly cacheDir: string;
  readonly cacheBytes: number;
  /** Ranges are fetched and cached in blocks of this size, aligned on it. */
  readonly blockBytes?: number | undefined;
}

/** What was asked of S3 and of the local cache since start (served at /health; the tests count with it). */
export interface S3Stats {
  gets: number;
  bytesFetched: number;
  heads: number;
  lists: number;
  /** Blocks read from the local cache, and fetched from S3. */
  blockHits: number;
  blockFetches: number;
  /** Whole objects copied to the local cache (for decoders that need a file). */
  downloads: number;
}

/** An object's identity: its size, ETag and modification time. */
export interface ObjectHead {
  readonly size: number;
  readonly etag: string;
  readonly modified: Date;
}

/** Where an S3-compatible store is and how to address it. */
export type S3ClientOptions = Pick<S3StorageOptions, 'endpoint' | 'region' | 'forcePathStyle'>;

/**
 * An SDK client for AWS S3 or an S3-compatible store (path-style addressing by default when an
 * endpoint is given); credentials come from the SDK's standard chain, never from here.
 */
export function createS3Client(options: S3ClientOptions): S3Client {
  return new S3Client({
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    region: options.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
    forcePathStyle: options.forcePathStyle ?? options.endpoint !== undefined,
    // Two attempts: a store that is down answers 503 quickly rather than after long back-offs.
    maxAttempts: 2,
    requestHandler: { connectionTimeout: 5000, requestTimeout: 30_000 },
  });
}

/** 32 KiB: a stored 256×256 JPEG tile is 10–40 KB, so a tile costs one or two blocks. */
const DEFAULT_BLOCK = 32 * 1024;

/**
 * Images stored in an S3 bucket under a prefix, read through the AWS SDK (v3), with credentials from
 * its standard chain (environment, shared files, instance roles): never read or logged here. Errors
 * become IiifErrors that name the bucket and key and say what happened, without the SDK's details.
 */
export class S3Storage implements SourceStorage {
  readonly stats: S3Stats = { gets: 0, bytesFetched: 0, heads: 0, lists: 0, blockHits: 0, blockFetches: 0, downloads: 0 };
  readonly blockBytes: number;

  private constructor(
    private readonly client: S3Client,
    readonly location: S3Location,
    readonly cache: DiskCache,
    private readonly where: string,
    blockBytes: number,
  ) {
    this.blockBytes = blockBytes;
  }

  static async create(url: string, options: S3StorageOptions): Promise<S3Storage> {
    const location = parseS3Url(url);
    const client = createS3Client(options);
    const cache = await DiskCache.open(options.cacheDir, options.cacheBytes);
    return new S3Storage(client, location, cache, options.endpoint ?? 'AWS S3', options.blockBytes ?? DEFAULT_BLOCK);
  }

  /** s3://bucket/key, for messages and cache keys. */
  url(key: string): string {
    return `s3://${this.location.bucket}/${key}`;
  }

  async head(key: string): Promise<ObjectHead | undefined> {
    this.stats.heads++;
    try {
      const answer = await this.client.send(new HeadObjectCommand({ Bucket: this.location.bucket, Key: key }));
      return { size: answer.ContentLength ?? 0, etag: answer.ETag ?? '', modified: answer.LastModified ?? new Date(0) };
    } catch (error) {
      if (status(error) === 404) return undefined;
      throw this.failure(error, key);
    }
  }

  /** The keys that start with `prefix` (up to `max`), and whether there are more. */
  async list(prefix: string, max = 1000): Promise<{ keys: string[]; truncated: boolean }> {
    this.stats.lists++;
    try {
      const answer = await this.client.send(new ListObjectsV2Command({ Bucket: this.location.bucket, Prefix: prefix, MaxKeys: max }));
      return { keys: (answer.Contents ?? []).flatMap((o) => (o.Key ? [o.Key] : [])), truncated: answer.IsTruncated === true };
    } catch (error) {
      throw this.failure(error, prefix);
    }
  }

  /** Bytes [start, end] (inclusive) of the object's version `etag`. */
  async range(key: string, etag: string, start: number, end: number): Promise<Buffer> {
    this.stats.gets++;
    try {
      const answer = await this.client.send(
        new GetObjectCommand({ Bucket: this.location.bucket, Key: key, Range: `bytes=${start}-${end}`, IfMatch: etag }),
      );
      const bytes = Buffer.from((await answer.Body?.transformToByteArray()) ?? []);
      this.stats.bytesFetched += bytes.length;
      if (bytes.length !== end - start + 1) throw new IiifError(502, `${this.url(key)}: S3 returned ${bytes.length} bytes for a range of ${end - start + 1}`);
      return bytes;
    } catch (error) {
      throw this.failure(error, key);
    }
  }

  /** The whole object's version `etag`, streamed into the local cache under `name`. */
  async download(key: string, etag: string, name: string): Promise<void> {
    this.stats.gets++;
    this.stats.downloads++;
    try {
      const answer = await this.client.send(new GetObjectCommand({ Bucket: this.location.bucket, Key: key, IfMatch: etag }));
      if (!answer.Body) throw new IiifError(502, `${this.url(key)}: S3 returned no body`);
      this.stats.bytesFetched += await this.cache.writeStream(name, answer.Body as Readable);
    } catch (error) {
      throw this.failure(error, key);
    }
  }

  /** Opens the object at `key` (a full key, as S3Resolver gives). */
  async open(key: string): Promise<ByteSource> {
    const head = await this.head(key);
    if (!head) throw new IiifError(404, `${this.url(key)}: no such object`);
    return new S3Bytes(this, key, head);
  }

  async version(key: string): Promise<string | undefined> {
    return (await this.head(key))?.etag;
  }

  /** The cache folder of one object version: a new ETag is a new folder, so stale bytes are never read. */
  cacheGroup(key: string, etag: string): string {
    return createHash('sha256').update(`${this.location.bucket}\0${key}\0${etag}`).digest('hex').slice(0, 40);
  }

  /** An SDK error as an IiifError that names what failed and why, and nothing more. */
  failure(error: unknown, key: string): IiifError {
    if (error instanceof IiifError) return error;
    const code = status(error);
    const name = error instanceof Error ? error.name : 'Error';
    const what = this.url(key);
    if (name === 'NoSuchBucket') return new IiifError(404, `S3 bucket '${this.location.bucket}' does not exist`);
    if (name === 'NoSuchKey' || code === 404) return new IiifError(404, `${what}: no such object`);
    if (code === 412) return new IiifError(503, `${what}: the object changed while it was read; try again`);
    if (code === 403) return new IiifError(502, `${what}: S3 refused access (${name}); check the credentials and the bucket policy`);
    if (error instanceof S3ServiceException || code !== undefined) return new IiifError(502, `${what}: S3 answered ${code ?? ''} ${name}`.replace('  ', ' '));
    // No HTTP answer at all: refused, reset, timed out.
    const reason = (error as { code?: string }).code ?? name;
    return new IiifError(503, `S3 storage at ${this.where} is unreachable (${reason})`);
  }
}

function status(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}
