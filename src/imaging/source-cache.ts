import { LRUCache } from 'lru-cache';
import type { SourceStorage } from '../storage/byte-source.js';
import { fileStorage } from '../storage/file-bytes.js';
import { openImage, type OpenedSource } from './open-source.js';
import { NO_COUNTERS, type ImagingCounters } from './counters.js';

/**
 * A request's use of an open source: the descriptor stays open until `release()`, even when the
 * cache evicts the source meanwhile. Release exactly once, in a `finally`.
 */
export interface SourceLease {
  readonly source: OpenedSource;
  release(): void;
}

/** A cached open source and how many requests use it now. */
class Held {
  users = 0;
  evicted = false;
  closed = false;

  constructor(
    readonly source: OpenedSource,
    public checkedAt: number,
  ) {}

  /** Closes the descriptor once the source is out of the cache and no request uses it. */
  closeIfDone(onClose: () => void): void {
    if (this.evicted && this.users === 0 && !this.closed) {
      this.closed = true;
      onClose();
      void this.source.close();
    }
  }
}

/**
 * Keeps sources open with their parsed headers (bounded LRU), so a tile request costs no header
 * parse. A cached source is re-validated against its storage (a file's mtime, size and inode; an
 * object's ETag) at most once per `checkIntervalMs`; a changed one is re-opened. Sources are reference-counted: eviction (LRU,
 * file changed, clear) only marks a source, and its descriptor is closed when the last request
 * using it releases it, so a slow decode never reads a closed (or reused) descriptor, and evicted
 * sources give their descriptor back at once rather than after a delay.
 */
export class SourceCache {
  private readonly entries: LRUCache<string, Held>;
  private readonly opening = new Map<string, Promise<Held>>();
  /** Sources opened and not yet closed: cached, or evicted but still used by a request. */
  private openCount = 0;
  private readonly closed = (): void => void this.openCount--;

  constructor(
    max: number,
    private readonly checkIntervalMs: number,
    private readonly storage: SourceStorage = fileStorage,
    private readonly counters: ImagingCounters = NO_COUNTERS,
  ) {
    this.entries = new LRUCache<string, Held>({
      max,
      dispose: (held) => {
        held.evicted = true;
        held.closeIfDone(this.closed);
      },
    });
  }

  /** Sources open now (each holds a descriptor), including evicted ones a request still uses. */
  get open(): number {
    return this.openCount;
  }

  /**
   * The source `path` names if it is open: a look at its headers (nothing read, no lookup counted,
   * not held, maybe due for its check against the storage, which acquire does).
   */
  peek(path: string): OpenedSource | undefined {
    const held = this.entries.peek(path);
    return held && !held.closed ? held.source : undefined;
  }

  /** The open source `path` names (a locator of the storage), held for the caller until it releases the lease. */
  async acquire(path: string): Promise<SourceLease> {
    for (;;) {
      const held = await this.current(path);
      // Between the await and here, the source may have been evicted with no user, and closed.
      if (held.closed) continue;
      return this.lease(held);
    }
  }

  /**
   * acquire without waiting: a lease when the source is open and was checked against its storage
   * within the interval (a hit, counted), else undefined and nothing counted (acquire then opens
   * or re-checks it).
   */
  acquireNow(path: string): SourceLease | undefined {
    const held = this.entries.peek(path);
    if (!held || held.closed || Date.now() - held.checkedAt >= this.checkIntervalMs) return undefined;
    this.entries.get(path);
    this.counters.sourceLookup(true);
    return this.lease(held);
  }

  private lease(held: Held): SourceLease {
    held.users++;
    let released = false;
    return {
      source: held.source,
      release: () => {
        if (released) return;
        released = true;
        held.users--;
        held.closeIfDone(this.closed);
      },
    };
  }

  private async current(path: string): Promise<Held> {
    const held = this.entries.get(path);
    const now = Date.now();
    if (held) {
      if (now - held.checkedAt < this.checkIntervalMs) {
        this.counters.sourceLookup(true);
        return held;
      }
      const version = await this.storage.version(path).catch(() => undefined);
      if (version === held.source.version) {
        held.checkedAt = now;
        this.counters.sourceLookup(true);
        return held;
      }
      if (this.entries.peek(path) === held) this.entries.delete(path);
    }
    // A request that joins another's opening still waits for an open: a miss.
    this.counters.sourceLookup(false);
    let pending = this.opening.get(path);
    if (!pending) {
      pending = this.storage
        .open(path)
        .then((bytes) => openImage(bytes))
        .then((source) => {
          this.openCount++;
          const opened = new Held(source, now);
          this.entries.set(path, opened);
          return opened;
        })
        .finally(() => this.opening.delete(path));
      this.opening.set(path, pending);
    }
    return pending;
  }

  /** Evicts every source (each closes when its last request releases it). */
  clear(): void {
    this.entries.clear();
  }
}
