import { stat } from 'node:fs/promises';
import { LRUCache } from 'lru-cache';
import { openSource, type OpenedSource } from './open-source.js';

interface Entry {
  source: OpenedSource;
  checkedAt: number;
}

/** Open sources must outlive eviction long enough for in-flight reads on their handle to finish. */
const CLOSE_DELAY_MS = 30_000;

/**
 * Keeps sources open with their parsed headers (bounded LRU), so a tile request costs no header
 * parse. A cached source is re-validated against the file's mtime, size and inode at most once per
 * `checkIntervalMs`; a changed file is re-opened.
 */
export class SourceCache {
  private readonly entries: LRUCache<string, Entry>;
  private readonly opening = new Map<string, Promise<OpenedSource>>();

  constructor(
    max: number,
    private readonly checkIntervalMs: number,
  ) {
    this.entries = new LRUCache<string, Entry>({
      max,
      dispose: (entry) => {
        setTimeout(() => void entry.source.close(), CLOSE_DELAY_MS).unref();
      },
    });
  }

  async get(path: string): Promise<OpenedSource> {
    const entry = this.entries.get(path);
    const now = Date.now();
    if (entry) {
      if (now - entry.checkedAt < this.checkIntervalMs) return entry.source;
      const info = await stat(path).catch(() => undefined);
      const version = info && `${info.ino.toString(36)}-${info.size.toString(36)}-${Math.floor(info.mtimeMs).toString(36)}`;
      if (version === entry.source.version) {
        entry.checkedAt = now;
        return entry.source;
      }
      this.entries.delete(path);
    }
    let pending = this.opening.get(path);
    if (!pending) {
      pending = openSource(path).finally(() => this.opening.delete(path));
      this.opening.set(path, pending);
    }
    const source = await pending;
    if (!this.entries.has(path)) this.entries.set(path, { source, checkedAt: now });
    return source;
  }

  clear(): void {
    this.entries.clear();
  }
}
