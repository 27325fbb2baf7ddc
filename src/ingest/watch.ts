import { statSync, type Stats } from 'node:fs';
import type { CatalogLocation } from '../catalog/open.js';
import path from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import { CatalogCatchUp } from './catch-up.js';
import { DEFAULT_VARIANTS, objectFolderOf, type VariantPreference } from '../pipeline/variants.js';
import { fileRole, listFolder, objectFileOf, relativeFolder, stampDigest, walkFolders, type FolderListing } from './folder-listing.js';

/** What the watcher tells, per object folder (relative to the masters root, '/' separators, '.' for the root). */
export interface WatchEvents {
  /** A folder holding masters was added or changed (masters or metadata sidecar), and all its files are stable. */
  objectReady(folder: string): void | Promise<void>;
  /** A folder that held masters holds none any more (deleted, emptied or moved away). */
  objectRemoved(folder: string): void | Promise<void>;
  /** A folder's collection description (collection.yml …) was added, edited or removed. */
  collectionChanged?(folder: string): void | Promise<void>;
  /** A failure of the file system watch or of a callback; the watcher goes on. */
  error?(error: Error): void;
}

export interface MastersWatcherOptions {
  /** The masters folder, as given to `vitrine convert`. */
  readonly root: string;
  /** How long every file of a folder must keep its size and mtime before the folder is reported (default 5000). */
  readonly stableMs?: number | undefined;
  /** Poll the file system every this many ms instead of native events (network shares); undefined: native events. */
  readonly pollMs?: number | undefined;
  /**
   * The catalog of the data folder the masters are converted into: at start, folders that differ
   * from it (changed while nobody watched) are reported, and its objects whose folder is gone.
   * Absent: every folder with masters is reported once at start.
   */
  readonly catalogFile?: string | undefined;
  /** The catalog when it is not `catalogFile` (a PostgreSQL server). */
  readonly catalog?: CatalogLocation | undefined;
  /** Which folders are variant folders of an object (a rules file's variants; absent: the default). */
  readonly variants?: VariantPreference | undefined;
  readonly events: WatchEvents;
}

export const DEFAULT_STABLE_MS = 5000;

/** A folder with changes not yet reported: files seen changing, and when the folder last saw an event. */
interface Pending {
  timer: NodeJS.Timeout | undefined;
  /** Bumped by every event: a check that started before the latest event leaves the decision to the next. */
  generation: number;
  lastEventAt: number;
  /** Files with events, their last known size and mtime, and when that last changed. */
  readonly files: Map<string, { size?: number | undefined; mtimeMs?: number | undefined; changedAt: number }>;
}

/** Marks a folder the catalog knows but the watcher must look at again (changed or gone since the last run). */
const FROM_CATALOG = 'catalog';

/**
 * Watches a masters folder (chokidar) and reports, per object folder (a folder directly holding
 * masters, the pipeline's default convention), when it is ready to convert or gone. A folder is
 * reported once every file of it kept its size and mtime for `stableMs`: every event in a folder
 * restarts its wait, and the wait ends with a fresh look at the folder's files, so a file growing
 * without events (a missed one, a coarse poll) still holds it back. Bursts coalesce into one report.
 * Temporary and hidden files (`.part`, `.tmp`, `~`, rsync's `.name.XXXX`) and hidden folders never count.
 *
 * Memory: a digest per object folder and collection (to report only real changes), and per-file
 * stamps only for the folders changing now.
 */
export class MastersWatcher {
  private readonly pending = new Map<string, Pending>();
  /** Digest of each object folder's masters and sidecars as last reported (or FROM_CATALOG). */
  private readonly objects = new Map<string, string>();
  /** Digest of each folder's collection description as last reported (or FROM_CATALOG). */
  private readonly collections = new Map<string, string>();
  private emitting: Promise<void> = Promise.resolve();
  private fsWatcher: FSWatcher | undefined;
  private closed = false;
  private rootMissingReported = false;
  readonly root: string;
  readonly stableMs: number;
  private readonly variants: VariantPreference;

  private constructor(private readonly options: MastersWatcherOptions) {
    this.root = path.resolve(options.root);
    this.variants = options.variants ?? DEFAULT_VARIANTS;
    this.stableMs = options.stableMs ?? DEFAULT_STABLE_MS;
  }

  /**
   * Starts watching, then catches up with what changed while nobody watched (against the catalog);
   * resolves once both are under way. Events met meanwhile are not lost: the watch starts first.
   */
  static async start(options: MastersWatcherOptions): Promise<MastersWatcher> {
    const watcher = new MastersWatcher(options);
    // A missing root would read as a tree without masters: every catalogued object withdrawn.
    if (!watcher.rootIsThere()) throw new Error(`masters folder ${watcher.root} not found`);
    try {
      await watcher.watch();
      await watcher.catchUp();
    } catch (error) {
      await watcher.close();
      throw error;
    }
    return watcher;
  }

  private rootIsThere(): boolean {
    return statSync(this.root, { throwIfNoEntry: false })?.isDirectory() ?? false;
  }

  /** Folders waiting to be stable (for status pages and tests). */
  get waiting(): number {
    return this.pending.size;
  }

  private async watch(): Promise<void> {
    const root = this.root;
    const polling = this.options.pollMs !== undefined;
    const fsWatcher = watch(root, {
      ignoreInitial: true,
      alwaysStat: true,
      // Links to folders are not followed, as the scan does (no loops).
      followSymlinks: false,
      // Hidden files and folders never count: not walked, not watched.
      ignored: (file) => file !== root && path.basename(file).startsWith('.'),
      usePolling: polling,
      ...(polling ? { interval: this.options.pollMs, binaryInterval: this.options.pollMs } : {}),
    });
    this.fsWatcher = fsWatcher;
    fsWatcher.on('add', (file, stats) => this.fileEvent(file, stats));
    fsWatcher.on('change', (file, stats) => this.fileEvent(file, stats));
    fsWatcher.on('unlink', (file) => this.fileEvent(file, undefined));
    // A variant folder (master/, service/ …) is part of the object folder above it.
    const objectDir = (dir: string): string => objectFolderOf(relativeFolder(root, dir), this.variants);
    fsWatcher.on('addDir', (dir) => this.touch(objectDir(dir)));
    fsWatcher.on('unlinkDir', (dir) => this.folderGone(objectDir(dir)));
    fsWatcher.on('error', (error) => this.options.events.error?.(error instanceof Error ? error : new Error(String(error))));
    await new Promise<void>((resolve, reject) => {
      fsWatcher.once('ready', resolve);
      fsWatcher.once('error', reject);
    });
  }

  /** Compares the tree with the catalog: changed and new folders, and catalog objects whose folder is gone, wait like any change. */
  private async catchUp(): Promise<void> {
    const catalog = await CatalogCatchUp.open(this.root, this.options.catalog ?? { kind: 'sqlite', file: this.options.catalogFile ?? '' });
    try {
      const catalogObjects = new Set(catalog.objectFolders());
      for await (const listing of walkFolders(this.root, this.variants)) {
        if (this.closed) return;
        if (listing.masters.length > 0 || catalogObjects.has(listing.folder)) {
          if (await catalog.objectChanged(listing)) this.recheck(this.objects, listing.folder);
          else if (!this.objects.has(listing.folder)) this.objects.set(listing.folder, objectDigest(listing));
        }
        if (catalog.collectionChanged(listing)) this.recheck(this.collections, listing.folder);
        else if (listing.collections.length > 0 && !this.collections.has(listing.folder)) this.collections.set(listing.folder, stampDigest(listing.collections));
      }
      // Folders the catalog has and the walk did not meet (deleted, or now hidden).
      for (const folder of catalogObjects) if (!this.objects.has(folder)) this.recheck(this.objects, folder);
      for (const folder of catalog.collectionFolders()) if (!this.collections.has(folder)) this.recheck(this.collections, folder);
    } finally {
      await catalog.close();
    }
  }

  /** A folder the catalog knows differently from the disk: looked at again once stable, and reported whatever it holds then. */
  private recheck(known: Map<string, string>, folder: string): void {
    known.set(folder, FROM_CATALOG);
    this.touch(folder, false);
  }

  private fileEvent(file: string, stats: Stats | undefined): void {
    if (!fileRole(path.basename(file))) return;
    const { folder, name } = objectFileOf(this.root, file, this.variants);
    const pending = this.touch(folder);
    pending?.files.set(name, { size: stats?.size, mtimeMs: stats?.mtimeMs, changedAt: Date.now() });
  }

  /** A folder removed: it and every reported folder under it are looked at (chokidar may report only the top). */
  private folderGone(folder: string): void {
    const prefix = `${folder}/`;
    const under = (f: string): boolean => f === folder || folder === '.' || f.startsWith(prefix);
    for (const f of new Set([...this.objects.keys(), ...this.collections.keys(), ...this.pending.keys()])) if (under(f)) this.touch(f);
    this.touch(folder);
  }

  /** Something happened in a folder: (re)starts its wait. `event: false` for a look requested at start, not an event. */
  private touch(folder: string, event = true): Pending | undefined {
    if (this.closed) return undefined;
    let pending = this.pending.get(folder);
    if (!pending) this.pending.set(folder, (pending = { timer: undefined, generation: 0, lastEventAt: event ? Date.now() : -Infinity, files: new Map() }));
    if (event) pending.lastEventAt = Date.now();
    pending.generation++;
    this.arm(folder, pending, this.stableMs);
    return pending;
  }

  private arm(folder: string, pending: Pending, delay: number): void {
    if (pending.timer) clearTimeout(pending.timer);
    pending.timer = setTimeout(() => void this.check(folder, pending).catch((error: Error) => this.options.events.error?.(error)), Math.max(0, delay));
  }

  /**
   * The wait of a folder ended: a fresh look at its files. A file whose size or mtime differs from
   * what its last event said changed since (an event was missed): the wait goes on. Otherwise the
   * folder is stable and reported if it differs from what was reported before.
   */
  private async check(folder: string, pending: Pending): Promise<void> {
    const generation = pending.generation;
    pending.timer = undefined;
    const listing = await listFolder(this.root, folder, this.variants);
    if (this.closed || this.pending.get(folder) !== pending || pending.generation !== generation) return;
    const now = Date.now();
    let lastChange = pending.lastEventAt;
    for (const file of [...listing.masters, ...listing.sidecars, ...listing.collections]) {
      const seen = pending.files.get(file.name);
      if (!seen) continue;
      if (seen.size !== file.size || seen.mtimeMs !== file.mtimeMs) pending.files.set(file.name, { size: file.size, mtimeMs: file.mtimeMs, changedAt: now });
      lastChange = Math.max(lastChange, pending.files.get(file.name)!.changedAt);
    }
    if (now - lastChange < this.stableMs) {
      this.arm(folder, pending, lastChange + this.stableMs - now);
      return;
    }
    // The whole masters folder gone (a network share unmounted, a disk detached) is not a withdrawal
    // of everything: the folder waits, reported again only once the masters folder is back.
    if (listing.masters.length === 0 && !this.rootIsThere()) {
      if (!this.rootMissingReported) this.options.events.error?.(new Error(`masters folder ${this.root} is gone: nothing is withdrawn until it is back`));
      this.rootMissingReported = true;
      this.arm(folder, pending, this.stableMs);
      return;
    }
    this.rootMissingReported = false;
    this.pending.delete(folder);
    this.settle(listing);
  }

  /** Reports what a stable folder became, against what was reported (or catalogued) before. */
  private settle(listing: FolderListing): void {
    const { folder } = listing;
    const events = this.options.events;
    if (listing.masters.length > 0) {
      const digest = objectDigest(listing);
      if (this.objects.get(folder) !== digest) {
        this.objects.set(folder, digest);
        this.emit(() => events.objectReady(folder));
      }
    } else if (this.objects.delete(folder)) {
      this.emit(() => events.objectRemoved(folder));
    }
    const described = listing.collections.length > 0 ? stampDigest(listing.collections) : undefined;
    if (this.collections.get(folder) !== described) {
      if (described === undefined) this.collections.delete(folder);
      else this.collections.set(folder, described);
      if (events.collectionChanged) this.emit(() => events.collectionChanged!(folder));
    }
  }

  /** Callbacks run one at a time, in the order of the reports (a removal before a re-creation of the same folder). */
  private emit(report: () => void | Promise<void>): void {
    this.emitting = this.emitting.then(report).catch((error: unknown) => this.options.events.error?.(error instanceof Error ? error : new Error(String(error))));
  }

  /** Stops watching: pending waits are dropped, callbacks under way are awaited; no handle is left open. */
  async close(): Promise<void> {
    this.closed = true;
    for (const pending of this.pending.values()) if (pending.timer) clearTimeout(pending.timer);
    this.pending.clear();
    await this.fsWatcher?.close();
    await this.emitting;
  }
}

/** What identifies an object folder's state: its masters and metadata sidecars (their names, sizes and mtimes). */
function objectDigest(listing: FolderListing): string {
  return stampDigest([...listing.masters, ...listing.sidecars]);
}
