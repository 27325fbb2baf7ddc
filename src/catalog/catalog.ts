import { rm } from 'node:fs/promises';
import Database from 'better-sqlite3';
import { naturalCompare } from '../pipeline/naming.js';
import { ACTIVITIES_SCHEMA, ActivityLog, stateDigest, type ActivityRecord } from './activities.js';
import { OPEN, policyFromJson, type AccessPolicy } from '../auth/policy.js';
import type { CollectionMetadata, ObjectMetadata } from './metadata.js';
import type { CatalogStore, IdentifierLedger } from './store.js';

/** One page as the catalog records it: where it came from, where its derivative is, its size. */
export interface PageRecord {
  readonly objectId: string;
  /** Position in the object, 1-based, in reading order. */
  readonly sequence: number;
  /** The derivative's identifier under the Image API (its path under images/, without extension). */
  readonly identifier: string;
  readonly sourcePath: string;
  /** Page index inside a multi-page source (0 for single-page files). */
  readonly sourcePage: number;
  readonly sourceSize: number;
  readonly sourceMtimeMs: number;
  readonly sourceSha256: string;
  /** Fingerprint of the conversion settings that produced the derivative. */
  readonly settings: string;
  readonly derivativePath: string;
  readonly width: number;
  readonly height: number;
  readonly convertedAt: string;
}

export interface ObjectRecord {
  readonly id: string;
  /** The object's folder, relative to the masters root ('.' for the root itself). */
  readonly folder: string;
  readonly pageCount: number;
  /** When the last conversion run recorded the object (ISO 8601). */
  readonly updatedAt: string;
}

/** An object's descriptive metadata, with the files it was read from. */
export interface MetadataRecord {
  readonly metadata: ObjectMetadata;
  /** The sidecar and CSV files it came from (empty: defaults only). */
  readonly sources: string[];
  readonly updatedAt: string;
}

/** A collection's description, with the file it was read from. */
export interface CollectionRecord {
  readonly metadata: CollectionMetadata;
  readonly sources: string[];
  readonly updatedAt: string;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS objects (
  id TEXT PRIMARY KEY,
  folder TEXT NOT NULL,
  page_count INTEGER NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS pages (
  source_path TEXT NOT NULL,
  source_page INTEGER NOT NULL,
  object_id TEXT NOT NULL,
  sequence INTEGER NOT NULL,
  identifier TEXT NOT NULL UNIQUE,
  source_size INTEGER NOT NULL,
  source_mtime_ms REAL NOT NULL,
  source_sha256 TEXT NOT NULL,
  settings TEXT NOT NULL,
  derivative_path TEXT NOT NULL,
  width INTEGER NOT NULL,
  height INTEGER NOT NULL,
  converted_at TEXT NOT NULL,
  PRIMARY KEY (source_path, source_page)
);
CREATE INDEX IF NOT EXISTS pages_by_object ON pages (object_id, sequence);
CREATE TABLE IF NOT EXISTS identifiers (
  source TEXT NOT NULL,
  source_page INTEGER NOT NULL,
  object_id TEXT NOT NULL,
  identifier TEXT NOT NULL,
  object_key TEXT NOT NULL,
  identifier_key TEXT NOT NULL UNIQUE,
  PRIMARY KEY (source, source_page)
);
CREATE INDEX IF NOT EXISTS identifiers_by_object ON identifiers (object_key);
CREATE TABLE IF NOT EXISTS object_metadata (
  object_id TEXT PRIMARY KEY,
  metadata TEXT NOT NULL,
  sources TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS object_access (
  object_id TEXT PRIMARY KEY,
  policy TEXT NOT NULL,
  sources TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS collection_metadata (
  path TEXT PRIMARY KEY,
  metadata TEXT NOT NULL,
  sources TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
`;

export interface PageRow {
  source_path: string;
  source_page: number;
  object_id: string;
  sequence: number;
  identifier: string;
  source_size: number;
  source_mtime_ms: number;
  source_sha256: string;
  settings: string;
  derivative_path: string;
  width: number;
  height: number;
  converted_at: string;
}

export const toRecord = (row: PageRow): PageRecord => ({
  objectId: row.object_id,
  sequence: row.sequence,
  identifier: row.identifier,
  sourcePath: row.source_path,
  sourcePage: row.source_page,
  sourceSize: row.source_size,
  sourceMtimeMs: row.source_mtime_ms,
  sourceSha256: row.source_sha256,
  settings: row.settings,
  derivativePath: row.derivative_path,
  width: row.width,
  height: row.height,
  convertedAt: row.converted_at,
});

export interface ObjectRow {
  id: string;
  folder: string;
  page_count: number;
  updated_at: string;
}

export interface CollectionRow {
  metadata: string;
  sources: string;
  updated_at: string;
}

export const toCollection = (r: CollectionRow): CollectionRecord => ({
  metadata: JSON.parse(r.metadata) as CollectionMetadata,
  sources: JSON.parse(r.sources) as string[],
  updatedAt: r.updated_at,
});

export const toObject = (r: ObjectRow): ObjectRecord => ({ id: r.id, folder: r.folder, pageCount: r.page_count, updatedAt: r.updated_at });

/** The identifiers given to one page of a master: its object's and its own. */
export interface GivenIdentifier {
  readonly objectId: string;
  readonly identifier: string;
}

/** What withdrawing an object did. */
export interface Withdrawal {
  /** False when the object was not published (unknown, or withdrawn already): nothing changed. */
  readonly withdrawn: boolean;
  /** The pages it had. */
  readonly pages: number;
  /** The derivative files deleted (with `removeDerivatives`). */
  readonly removedFiles: string[];
}

/** What withdrawing an object's `pages` (undefined: it was not published) came to, its derivatives deleted after the commit when asked. */
export async function withdrawal(pages: readonly PageRecord[] | undefined, removeDerivatives: boolean): Promise<Withdrawal> {
  if (!pages) return { withdrawn: false, pages: 0, removedFiles: [] };
  const removedFiles: string[] = [];
  if (removeDerivatives) {
    for (const page of pages) {
      await rm(page.derivativePath, { force: true });
      removedFiles.push(page.derivativePath);
    }
  }
  return { withdrawn: true, pages: pages.length, removedFiles };
}

/** A page's row could not be recorded: its identifier belongs to another master's page. */
export class IdentifierConflictError extends Error {
  override name = 'IdentifierConflictError';
}

/**
 * The embedded catalog (SQLite, WAL): every object and page with its order, source, checksum,
 * derivative and pixel size, so manifests never open an image. Each page is committed as it
 * completes, so a killed batch loses at most the pages in flight.
 */
export class Catalog implements CatalogStore {
  private readonly db: Database.Database;
  /** Prepared once per SQL text: preparing costs more than running these small queries. */
  private readonly statements = new Map<string, Database.Statement>();
  /**
   * Whether the file holds a catalog at all: a data folder converted with a PostgreSQL catalog has a
   * catalog.sqlite with Content Search's tables only.
   */
  readonly hasObjects: boolean;
  /** Whether the catalog has the metadata table (a catalog written before it existed, read-only, has not). */
  private readonly hasMetadata: boolean;
  /** Where given identifiers are read: their table, or nothing (a read-only catalog from before it). */
  private readonly identifiers: string;
  /** Whether the catalog has the collection descriptions table (added after object_metadata). */
  private readonly hasCollections: boolean;
  /** The change log, once the catalog has one (a read-only catalog from before it: derived from the objects meanwhile). */
  private changeLog: ActivityLog | undefined;
  /** Whether the catalog has the access policies table (a catalog from before it: everything open, as it was). */
  private readonly hasAccess: boolean;

  readonly location: string;

  constructor(file: string, options: { readonly?: boolean } = {}) {
    this.location = file;
    this.db = new Database(file, { readonly: options.readonly ?? false, fileMustExist: options.readonly ?? false });
    this.db.pragma('busy_timeout = 5000');
    const hasTable = (name: string): boolean => this.statement("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined;
    if (!options.readonly) {
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = NORMAL');
      // Immediate: two writers opening a catalog from before the change log cannot both fill it.
      this.db
        .transaction(() => {
          const fresh = !hasTable('activities');
          this.db.exec(SCHEMA);
          this.db.exec(ACTIVITIES_SCHEMA);
          // A catalog written before the change log: a harvester reading the stream from its start must
          // find every object published, so each gets its Create, dated when it was last recorded.
          if (fresh) this.recordExistingObjects(new ActivityLog((sql) => this.statement(sql)));
        })
        .immediate();
    }
    this.hasObjects = hasTable('objects');
    this.hasMetadata = hasTable('object_metadata');
    this.identifiers = hasTable('identifiers')
      ? 'identifiers'
      : "(SELECT '' AS source, 0 AS source_page, '' AS object_id, '' AS identifier, '' AS object_key, '' AS identifier_key WHERE 0)";
    this.hasCollections = hasTable('collection_metadata');
    this.changeLog = hasTable('activities') ? new ActivityLog((sql) => this.statement(sql)) : undefined;
    this.hasAccess = hasTable('object_access');
  }

  /**
   * The change log. A reader that opened a catalog from before it looks again each time, so that
   * it follows the log from the moment a writer (the next conversion) creates it.
   */
  private get activityLog(): ActivityLog | undefined {
    if (!this.changeLog && this.statement("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'activities'").get() !== undefined) {
      this.changeLog = new ActivityLog((sql) => this.statement(sql));
    }
    return this.changeLog;
  }

  private recordExistingObjects(log: ActivityLog): void {
    const rows = this.statement('SELECT id, updated_at FROM objects ORDER BY updated_at, id').all() as { id: string; updated_at: string }[];
    for (const row of rows) {
      const state = this.objectState(row.id);
      if (state !== undefined) log.note('Manifest', row.id, state, row.updated_at);
    }
  }

  /**
   * What an object's published manifest is made of, as a digest: its pages in order with each
   * page's master checksum, settings, derivative and size, and its descriptive metadata (not the
   * times things were recorded, which every run refreshes). Undefined when it has no pages (not published).
   */
  private objectState(id: string): string | undefined {
    const pages = this.statement(
      'SELECT identifier, sequence, source_sha256, settings, derivative_path, width, height FROM pages WHERE object_id = ? ORDER BY sequence, identifier',
    ).all(id);
    if (pages.length === 0) return undefined;
    // Only writers ask, and they have every table.
    const metadata = this.statement('SELECT metadata FROM object_metadata WHERE object_id = ?').get(id) as { metadata: string } | undefined;
    return stateDigest({ pages, metadata: metadata?.metadata ?? null });
  }

  /**
   * Records the object's change, if its state changed (inside the caller's transaction). Those
   * transactions read the state before they write it: they start IMMEDIATE, so another writer (a
   * watcher withdrawing an object during a conversion) waits its turn instead of failing with
   * SQLITE_BUSY on a stale snapshot.
   */
  private noteObject(id: string): void {
    this.activityLog?.note('Manifest', id, this.objectState(id));
  }

  private statement(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (!statement) this.statements.set(sql, (statement = this.db.prepare(sql)));
    return statement;
  }

  /**
   * A number that changes whenever another connection commits to the catalog (SQLite's
   * data_version): readers cache what they derive from the catalog under it.
   */
  dataVersion(): number {
    return this.db.pragma('data_version', { simple: true }) as number;
  }

  changeVersion(): string {
    return String(this.dataVersion());
  }

  /** This catalog itself: its queries are cheap enough to ask as the planner goes. */
  identifierLedger(): IdentifierLedger {
    return this;
  }

  /** The page recorded for a source (and page index inside it), if any. */
  page(sourcePath: string, sourcePage: number): PageRecord | undefined {
    const row = this.statement('SELECT * FROM pages WHERE source_path = ? AND source_page = ?').get(sourcePath, sourcePage) as PageRow | undefined;
    return row && toRecord(row);
  }

  /** The page recorded under an Image API identifier, if any. */
  pageByIdentifier(identifier: string): PageRecord | undefined {
    const row = this.statement('SELECT * FROM pages WHERE identifier = ?').get(identifier) as PageRow | undefined;
    return row && toRecord(row);
  }

  /**
   * Records a converted page, replacing an earlier record of the same source page only: a page of
   * another master recorded under the same identifier is never replaced (IdentifierConflictError).
   */
  recordPage(page: PageRecord): void {
    const owner = this.pageByIdentifier(page.identifier);
    if (owner && (owner.sourcePath !== page.sourcePath || owner.sourcePage !== page.sourcePage)) {
      throw new IdentifierConflictError(`identifier ${page.identifier} is recorded for another master (${owner.sourcePath}, page ${owner.sourcePage}); not replaced`);
    }
    this.statement(
      `INSERT INTO pages (source_path, source_page, object_id, sequence, identifier, source_size, source_mtime_ms,
         source_sha256, settings, derivative_path, width, height, converted_at)
       VALUES (@sourcePath, @sourcePage, @objectId, @sequence, @identifier, @sourceSize, @sourceMtimeMs,
         @sourceSha256, @settings, @derivativePath, @width, @height, @convertedAt)
       ON CONFLICT (source_path, source_page) DO UPDATE SET object_id = excluded.object_id, sequence = excluded.sequence,
         identifier = excluded.identifier, source_size = excluded.source_size, source_mtime_ms = excluded.source_mtime_ms,
         source_sha256 = excluded.source_sha256, settings = excluded.settings, derivative_path = excluded.derivative_path,
         width = excluded.width, height = excluded.height, converted_at = excluded.converted_at`,
    ).run(page);
  }

  /**
   * A catalog from before identifiers were kept: its pages keep what they were published under.
   * Identifiers are kept by the master's path under the masters folder (a moved masters folder keeps
   * them), which the pages, recorded by absolute path, tell once the folder is known.
   */
  adoptPublishedIdentifiers(mastersRoot: string): void {
    if (this.statement('SELECT 1 FROM identifiers LIMIT 1').get() !== undefined) return;
    const prefix = `${mastersRoot.replace(/\/+$/, '')}/`;
    this.statement(
      `INSERT OR IGNORE INTO identifiers (source, source_page, object_id, identifier, object_key, identifier_key)
       SELECT substr(source_path, ?), source_page, object_id, identifier, lower(object_id), lower(identifier)
       FROM pages WHERE substr(source_path, 1, ?) = ? ORDER BY converted_at`,
    ).run(prefix.length + 1, prefix.length, prefix);
  }

  /** Forgets a page (its master is gone: moved with the masters folder, or deleted). */
  removePage(sourcePath: string, sourcePage: number): void {
    this.statement('DELETE FROM pages WHERE source_path = ? AND source_page = ?').run(sourcePath, sourcePage);
  }

  /** The identifiers once given to a page of a master (its path under the masters folder), if any: they are its for good. */
  givenIdentifier(source: string, sourcePage: number): GivenIdentifier | undefined {
    const row = this.statement(`SELECT object_id, identifier FROM ${this.identifiers} WHERE source = ? AND source_page = ?`).get(source, sourcePage) as
      | { object_id: string; identifier: string }
      | undefined;
    return row && { objectId: row.object_id, identifier: row.identifier };
  }

  /** Whether an object id was ever given (case-insensitively: folders differing in case only collide on many disks). */
  objectIdTaken(id: string): boolean {
    return this.statement(`SELECT 1 FROM ${this.identifiers} WHERE object_key = ? LIMIT 1`).get(id.toLowerCase()) !== undefined;
  }

  /** Whether a page identifier was ever given (case-insensitively). */
  identifierTaken(identifier: string): boolean {
    return this.statement(`SELECT 1 FROM ${this.identifiers} WHERE identifier_key = ? LIMIT 1`).get(identifier.toLowerCase()) !== undefined;
  }

  /** Gives pages of masters their identifiers, for good (in one transaction). */
  giveIdentifiers(pages: readonly (GivenIdentifier & { source: string; sourcePage: number })[]): void {
    const insert = this.statement(
      'INSERT INTO identifiers (source, source_page, object_id, identifier, object_key, identifier_key) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.db.transaction(() => {
      for (const p of pages) insert.run(p.source, p.sourcePage, p.objectId, p.identifier, p.objectId.toLowerCase(), p.identifier.toLowerCase());
    })();
  }

  /**
   * Sets an object's page order to the planned one, in one transaction: the sequence of each page
   * still present, and the removal of pages whose source is gone or failed this time.
   */
  setObjectPages(object: { id: string; folder: string }, pages: readonly { sourcePath: string; sourcePage: number }[]): void {
    this.db.transaction(() => {
      this.writeObjectPages(object, pages);
      this.noteObject(object.id);
    }).immediate();
  }

  /**
   * Records an object as a conversion run leaves it, in one transaction: its page order (as
   * setObjectPages) and its descriptive metadata when given, with one activity for the whole change.
   */
  recordObject(
    object: { id: string; folder: string },
    pages: readonly { sourcePath: string; sourcePage: number }[],
    described?: { metadata: ObjectMetadata; sources: readonly string[] },
  ): void {
    this.db.transaction(() => {
      this.writeObjectPages(object, pages);
      if (described) this.writeObjectMetadata(object.id, described.metadata, described.sources);
      this.noteObject(object.id);
    }).immediate();
  }

  private writeObjectPages(object: { id: string; folder: string }, pages: readonly { sourcePath: string; sourcePage: number }[]): void {
    const update = this.statement('UPDATE pages SET sequence = ?, object_id = ? WHERE source_path = ? AND source_page = ?');
    const existing = this.statement('SELECT source_path, source_page FROM pages WHERE object_id = ?');
    const remove = this.statement('DELETE FROM pages WHERE source_path = ? AND source_page = ?');
    const upsertObject = this.statement(
      `INSERT INTO objects (id, folder, page_count, updated_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET folder = excluded.folder, page_count = excluded.page_count, updated_at = excluded.updated_at`,
    );
    {
      const keep = new Set(pages.map((p) => `${p.sourcePage}\0${p.sourcePath}`));
      for (const row of existing.all(object.id) as { source_path: string; source_page: number }[]) {
        if (!keep.has(`${row.source_page}\0${row.source_path}`)) remove.run(row.source_path, row.source_page);
      }
      pages.forEach((p, i) => update.run(i + 1, object.id, p.sourcePath, p.sourcePage));
      const count = (this.statement('SELECT COUNT(*) AS n FROM pages WHERE object_id = ?').get(object.id) as { n: number }).n;
      upsertObject.run(object.id, object.folder, count, new Date().toISOString());
    }
  }

  /** Every object, in natural order of their ids (ms7 before ms12). */
  objects(): ObjectRecord[] {
    return (this.statement('SELECT id, folder, page_count, updated_at FROM objects').all() as ObjectRow[])
      .map(toObject)
      .sort((a, b) => naturalCompare(a.id, b.id));
  }

  /** One object, if the catalog has it. */
  object(id: string): ObjectRecord | undefined {
    const row = this.statement('SELECT id, folder, page_count, updated_at FROM objects WHERE id = ?').get(id) as ObjectRow | undefined;
    return row && toObject(row);
  }

  /** Replaces an object's descriptive metadata (every conversion run does, so edited sidecars apply). */
  setObjectMetadata(id: string, metadata: ObjectMetadata, sources: readonly string[]): void {
    this.db.transaction(() => {
      this.writeObjectMetadata(id, metadata, sources);
      this.noteObject(id);
    }).immediate();
  }

  private writeObjectMetadata(id: string, metadata: ObjectMetadata, sources: readonly string[]): void {
    this.statement(
      `INSERT INTO object_metadata (object_id, metadata, sources, updated_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (object_id) DO UPDATE SET metadata = excluded.metadata, sources = excluded.sources, updated_at = excluded.updated_at`,
    ).run(id, JSON.stringify(metadata), JSON.stringify(sources), new Date().toISOString());
  }

  /**
   * Withdraws an object (its folder is gone, or it is to be unpublished): its pages, row and
   * description go, a Delete is recorded, in one transaction. Its given identifiers stay (they are
   * its for good: a folder that comes back gets the same ones). Its derivative files are deleted
   * after the commit with `removeDerivatives`; kept, they are not served any more either (the
   * image server refuses the identifiers of a withdrawn object).
   */
  async withdrawObject(id: string, options: { removeDerivatives?: boolean } = {}): Promise<Withdrawal> {
    const pages = this.db.transaction(() => {
      const found = this.pages(id);
      if (!this.object(id) && found.length === 0) return undefined;
      this.statement('DELETE FROM pages WHERE object_id = ?').run(id);
      this.statement('DELETE FROM objects WHERE id = ?').run(id);
      if (this.hasMetadata) this.statement('DELETE FROM object_metadata WHERE object_id = ?').run(id);
      this.noteObject(id);
      return found;
    }).immediate();
    return withdrawal(pages, options.removeDerivatives === true);
  }

  /** Whether the object was published once and withdrawn since (its manifest is then Gone, not unknown). */
  isWithdrawn(id: string): boolean {
    return this.activityLog?.withdrawn('Manifest', id) ?? false;
  }

  /** Whether an Image API identifier is a page of a withdrawn object (not served, even if its file is still there). */
  isWithdrawnIdentifier(identifier: string): boolean {
    if (!this.activityLog || this.identifiers !== 'identifiers' || this.pageByIdentifier(identifier)) return false;
    const row = this.statement('SELECT object_id FROM identifiers WHERE identifier_key = ?').get(identifier.toLowerCase()) as { object_id: string } | undefined;
    return row !== undefined && this.isWithdrawn(row.object_id);
  }

  /** How many activities the change stream has. */
  activityCount(): number {
    return this.activityLog ? this.activityLog.count() : this.derivedActivities().length;
  }

  /** `limit` activities of the change stream from position `offset` (0-based), oldest first. */
  activities(offset: number, limit: number): ActivityRecord[] {
    return this.activityLog ? this.activityLog.slice(offset, limit) : this.derivedActivities().slice(offset, offset + limit);
  }

  /**
   * The stream of a read-only catalog from before the change log: a Create per published object,
   * dated when it was last recorded; what a writer records when it first opens the catalog.
   */
  private derivedActivities(): ActivityRecord[] {
    return (this.statement('SELECT id, updated_at FROM objects WHERE page_count > 0 ORDER BY updated_at, id').all() as { id: string; updated_at: string }[]).map(
      (row, i) => ({ id: i + 1, type: 'Create', objectId: row.id, objectType: 'Manifest', endTime: row.updated_at }),
    );
  }

  /** An object's descriptive metadata, if any was recorded. */
  objectMetadata(id: string): MetadataRecord | undefined {
    if (!this.hasMetadata) return undefined;
    const row = this.statement('SELECT metadata, sources, updated_at FROM object_metadata WHERE object_id = ?').get(id) as
      | { metadata: string; sources: string; updated_at: string }
      | undefined;
    if (!row) return undefined;
    return { metadata: JSON.parse(row.metadata) as ObjectMetadata, sources: JSON.parse(row.sources) as string[], updatedAt: row.updated_at };
  }

  allObjectMetadata(): Map<string, ObjectMetadata> {
    if (!this.hasMetadata) return new Map();
    const rows = this.statement('SELECT object_id, metadata FROM object_metadata').all() as { object_id: string; metadata: string }[];
    return new Map(rows.map((r) => [r.object_id, JSON.parse(r.metadata) as ObjectMetadata]));
  }

  /**
   * Replaces the descriptions of the collections a run covers (`covered`: the folder paths above its
   * objects, and the top ''), in one transaction: a removed collection.yml removes its description,
   * while collections of objects this run did not see keep theirs.
   */
  setCollectionMetadata(covered: Iterable<string>, described: ReadonlyMap<string, { metadata: CollectionMetadata; sources: readonly string[] }>): void {
    const remove = this.statement('DELETE FROM collection_metadata WHERE path = ?');
    const insert = this.statement('INSERT OR REPLACE INTO collection_metadata (path, metadata, sources, updated_at) VALUES (?, ?, ?, ?)');
    const now = new Date().toISOString();
    const descriptionOf = (path: string): string | undefined =>
      (this.statement('SELECT metadata FROM collection_metadata WHERE path = ?').get(path) as { metadata: string } | undefined)?.metadata;
    this.db.transaction(() => {
      const paths = new Set([...covered, ...described.keys()]);
      const before = new Map([...paths].map((path) => [path, descriptionOf(path)]));
      for (const path of covered) remove.run(path);
      for (const [path, d] of described) insert.run(path, JSON.stringify(d.metadata), JSON.stringify(d.sources), now);
      // A collection whose description was added, edited or removed is an Update of that collection.
      for (const path of paths) if (before.get(path) !== descriptionOf(path)) this.activityLog?.updated('Collection', path, now);
    }).immediate();
  }

  /** Every collection's description, by folder path ('' for the top collection). */
  collectionMetadata(): Map<string, CollectionRecord> {
    if (!this.hasCollections) return new Map();
    const rows = this.statement('SELECT path, metadata, sources, updated_at FROM collection_metadata').all() as (CollectionRow & { path: string })[];
    return new Map(rows.map((r) => [r.path, toCollection(r)]));
  }

  /** One collection's description, if it has one. */
  collectionRecord(path: string): CollectionRecord | undefined {
    if (!this.hasCollections) return undefined;
    const row = this.statement('SELECT metadata, sources, updated_at FROM collection_metadata WHERE path = ?').get(path) as CollectionRow | undefined;
    return row && toCollection(row);
  }

  /** Replaces an object's effective access policy (every run does, so an edited access.yml applies without re-converting). */
  setObjectAccess(id: string, policy: AccessPolicy, sources: readonly string[]): void {
    this.statement(
      `INSERT INTO object_access (object_id, policy, sources, updated_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (object_id) DO UPDATE SET policy = excluded.policy, sources = excluded.sources, updated_at = excluded.updated_at`,
    ).run(id, JSON.stringify(policy), JSON.stringify(sources), new Date().toISOString());
  }

  /** An object's access policy: open when none was recorded (no access.yml anywhere above it). */
  objectAccess(id: string): AccessPolicy {
    if (!this.hasAccess) return OPEN;
    const row = this.statement('SELECT policy FROM object_access WHERE object_id = ?').get(id) as { policy: string } | undefined;
    return row ? policyFromJson(row.policy) : OPEN;
  }

  /** An object's pages in reading order. */
  pages(objectId: string): PageRecord[] {
    return (this.statement('SELECT * FROM pages WHERE object_id = ? ORDER BY sequence').all(objectId) as PageRow[]).map(toRecord);
  }

  close(): void {
    this.db.close();
  }
}
