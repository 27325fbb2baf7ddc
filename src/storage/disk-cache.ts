import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';

const TEMP_MARK = '.tmp-';

/**
 * Files under one folder, bounded by their total size, the least recently used removed first.
 * Each file is written to a temporary name and renamed into place, so a file seen under its name is
 * complete, even after a kill -9 (leftover temporaries are removed when the cache opens). The index
 * is rebuilt from the folder at start, oldest modification first: what was fetched before a restart
 * is not fetched again. A pinned file (a local copy a decoder is reading) is never removed.
 * Names are `group/file`: one folder per group (an object version), so a folder stays small.
 */
export class DiskCache {
  /** name → size, least recently used first (Map keeps insertion order; a use re-inserts). */
  private readonly entries = new Map<string, number>();
  private readonly pins = new Map<string, number>();
  private total = 0;

  private constructor(
    readonly dir: string,
    readonly maxBytes: number,
  ) {}

  static async open(dir: string, maxBytes: number): Promise<DiskCache> {
    await mkdir(dir, { recursive: true });
    const cache = new DiskCache(dir, maxBytes);
    const found: Array<{ name: string; size: number; mtime: number }> = [];
    for (const group of await readdir(dir, { withFileTypes: true })) {
      if (!group.isDirectory()) continue;
      for (const file of await readdir(path.join(dir, group.name))) {
        const full = path.join(dir, group.name, file);
        if (file.startsWith(TEMP_MARK)) {
          await rm(full, { force: true });
          continue;
        }
        const info = await stat(full).catch(() => undefined);
        if (info?.isFile()) found.push({ name: `${group.name}/${file}`, size: info.size, mtime: info.mtimeMs });
      }
    }
    found.sort((a, b) => a.mtime - b.mtime);
    for (const { name, size } of found) cache.add(name, size);
    await cache.evict();
    return cache;
  }

  get bytes(): number {
    return this.total;
  }
  get files(): number {
    return this.entries.size;
  }

  path(name: string): string {
    return path.join(this.dir, name);
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  /** The file's bytes, or undefined when it is not cached. */
  async read(name: string): Promise<Buffer | undefined> {
    const size = this.entries.get(name);
    if (size === undefined) return undefined;
    this.touch(name, size);
    try {
      return await readFile(this.path(name));
    } catch {
      this.forget(name);
      return undefined;
    }
  }

  /** Stores `data` under `name` (atomically), then removes the least recently used files over the bound. */
  async write(name: string, data: Buffer): Promise<void> {
    await this.place(name, (temp) => writeFile(temp, data));
    this.add(name, data.length);
    await this.evict();
  }

  /** Stores a stream under `name` (atomically): a whole object's local copy. Returns its size. */
  async writeStream(name: string, body: Readable): Promise<number> {
    await this.place(name, (temp) => pipeline(body, createWriteStream(temp)));
    const { size } = await stat(this.path(name));
    this.add(name, size);
    await this.evict();
    return size;
  }

  /** Keeps `name` from eviction until as many unpin() calls. */
  pin(name: string): void {
    this.pins.set(name, (this.pins.get(name) ?? 0) + 1);
  }

  unpin(name: string): void {
    const left = (this.pins.get(name) ?? 1) - 1;
    if (left > 0) this.pins.set(name, left);
    else this.pins.delete(name);
    void this.evict();
  }

  private async place(name: string, write: (temp: string) => Promise<unknown>): Promise<void> {
    const target = this.path(name);
    await mkdir(path.dirname(target), { recursive: true });
    const temp = path.join(path.dirname(target), `${TEMP_MARK}${randomBytes(6).toString('hex')}`);
    try {
      await write(temp);
      await rename(temp, target);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
  }

  private add(name: string, size: number): void {
    this.forget(name);
    this.entries.set(name, size);
    this.total += size;
  }

  private touch(name: string, size: number): void {
    this.entries.delete(name);
    this.entries.set(name, size);
  }

  private forget(name: string): void {
    const size = this.entries.get(name);
    if (size === undefined) return;
    this.entries.delete(name);
    this.total -= size;
  }

  private async evict(): Promise<void> {
    if (this.total <= this.maxBytes) return;
    const victims: string[] = [];
    for (const [name, size] of this.entries) {
      if (this.total <= this.maxBytes) break;
      if (this.pins.has(name)) continue;
      this.entries.delete(name);
      this.total -= size;
      victims.push(name);
    }
    await Promise.all(victims.map((name) => unlink(this.path(name)).catch(() => undefined)));
  }
}
