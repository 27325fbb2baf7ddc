import { open, type FileHandle } from 'node:fs/promises';
import { IiifError } from '../image-api/errors.js';
import type { ByteSource, LocalFile } from './byte-source.js';
import type { ObjectHead, S3Storage } from './s3-storage.js';

/**
 * One version of an S3 object, read by range through block-aligned pieces kept in the local disk
 * cache: a range whose blocks are all cached costs no request; the missing blocks of a read, when
 * neighbours, are fetched with one ranged GetObject (and a read of several stored tiles close in
 * the file, which region decoding coalesces, is one read here). Concurrent reads of a block share
 * its fetch. Every GetObject carries If-Match with the ETag opened, so bytes of a newer version
 * never mix with this one's.
 */
export class S3Bytes implements ByteSource {
  readonly name: string;
  readonly size: number;
  readonly version: string;
  readonly modified: Date;
  private readonly group: string;
  private readonly inflight = new Map<number, Promise<Buffer>>();
  private local: Promise<{ file: FileHandle; path: string }> | undefined;
  private closed = false;

  constructor(
    private readonly storage: S3Storage,
    private readonly key: string,
    head: ObjectHead,
  ) {
    this.name = storage.url(key);
    this.size = head.size;
    this.version = head.etag;
    this.modified = head.modified;
    this.group = storage.cacheGroup(key, head.etag);
  }

  async read(offset: number, length: number): Promise<Buffer> {
    if (length === 0) return Buffer.alloc(0);
    if (offset < 0 || length < 0 || offset + length > this.size) {
      throw new IiifError(500, `${this.name}: ${length} bytes at offset ${offset} lie beyond the end of the object (${this.size} bytes)`);
    }
    const block = this.storage.blockBytes;
    const first = Math.floor(offset / block);
    const last = Math.floor((offset + length - 1) / block);
    const blocks = await Promise.all(this.blocks(first, last));
    const joined = blocks.length === 1 ? blocks[0]! : Buffer.concat(blocks);
    const start = offset - first * block;
    return joined.subarray(start, start + length);
  }

  /** Blocks first…last: shared when already being fetched, else from the disk cache, else fetched by neighbouring runs. */
  private blocks(first: number, last: number): Array<Promise<Buffer>> {
    const out: Array<Promise<Buffer>> = [];
    const mine: Array<{ index: number; resolve: (b: Buffer) => void; reject: (e: unknown) => void }> = [];
    for (let index = first; index <= last; index++) {
      const pending = this.inflight.get(index);
      if (pending) {
        out.push(pending);
        continue;
      }
      let settle!: { resolve: (b: Buffer) => void; reject: (e: unknown) => void };
      const promise = new Promise<Buffer>((resolve, reject) => (settle = { resolve, reject }));
      // Nobody else may be waiting: a failure must not become an unhandled rejection.
      promise.catch(() => undefined);
      this.inflight.set(index, promise);
      out.push(promise);
      mine.push({ index, ...settle });
    }
    if (mine.length > 0) void this.load(mine);
    return out;
  }

  private async load(wanted: Array<{ index: number; resolve: (b: Buffer) => void; reject: (e: unknown) => void }>): Promise<void> {
    const { cache, stats } = this.storage;
    const missing: typeof wanted = [];
    await Promise.all(
      wanted.map(async (w) => {
        const cached = await cache.read(this.blockName(w.index));
        if (cached && cached.length === this.blockLength(w.index)) {
          stats.blockHits++;
          this.done(w.index);
          w.resolve(cached);
        } else missing.push(w);
      }),
    );
    missing.sort((a, b) => a.index - b.index);
    const runs: Array<typeof missing> = [];
    for (const w of missing) {
      const run = runs[runs.length - 1];
      if (run && run[run.length - 1]!.index === w.index - 1) run.push(w);
      else runs.push([w]);
    }
    await Promise.all(runs.map((run) => this.fetchRun(run)));
  }

  private async fetchRun(run: Array<{ index: number; resolve: (b: Buffer) => void; reject: (e: unknown) => void }>): Promise<void> {
    const block = this.storage.blockBytes;
    const start = run[0]!.index * block;
    const end = Math.min(this.size, (run[run.length - 1]!.index + 1) * block) - 1;
    try {
      const bytes = await this.storage.range(this.key, this.version, start, end);
      this.storage.stats.blockFetches += run.length;
      await Promise.all(
        run.map(async (w) => {
          const from = w.index * block - start;
          const piece = bytes.subarray(from, from + this.blockLength(w.index));
          // The cache is an optimisation: a full disk must not fail the request.
          await this.storage.cache.write(this.blockName(w.index), piece).catch(() => undefined);
          this.done(w.index);
          w.resolve(piece);
        }),
      );
    } catch (error) {
      for (const w of run) {
        this.done(w.index);
        w.reject(error);
      }
    }
  }

  private done(index: number): void {
    this.inflight.delete(index);
  }

  private blockName(index: number): string {
    return `${this.group}/b${index}`;
  }

  private blockLength(index: number): number {
    const block = this.storage.blockBytes;
    return Math.min(block, this.size - index * block);
  }

  /**
   * The whole object copied once into the local cache (kept there while this source is open, then
   * subject to the cache's bound like any block), for decoders that read a file.
   */
  localFile(): Promise<LocalFile> {
    if (this.closed) return Promise.reject(new IiifError(500, `${this.name}: read after close`));
    this.local ??= this.download();
    // A failed download is not remembered: the next request tries again.
    this.local.catch(() => (this.local = undefined));
    return this.local.then(({ file, path }) => ({ path, descriptor: file.fd }));
  }

  private async download(): Promise<{ file: FileHandle; path: string }> {
    const { cache } = this.storage;
    const name = `${this.group}/full`;
    cache.pin(name);
    try {
      if (!cache.has(name)) await this.storage.download(this.key, this.version, name);
      const path = cache.path(name);
      const file = await open(path, 'r');
      if ((await file.stat()).size !== this.size) {
        await file.close();
        throw new IiifError(502, `${this.name}: the local copy is not ${this.size} bytes long`);
      }
      return { file, path };
    } catch (error) {
      cache.unpin(name);
      throw error;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const local = await this.local?.catch(() => undefined);
    if (local) {
      await local.file.close().catch(() => undefined);
      this.storage.cache.unpin(`${this.group}/full`);
    }
  }
}
