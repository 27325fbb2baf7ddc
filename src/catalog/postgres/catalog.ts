import type pg from 'pg';
import { OPEN, policyFromJson, type AccessPolicy } from '../../auth/policy.js';
import { naturalCompare } from '../../pipeline/naming.js';
import { activityFor, stateDigest, type ActivityObjectType, type ActivityRecord, type ActivityType } from '../activities.js';
import {
  IdentifierConflictError,
  toCollection,
  toObject,
  toRecord,
  type CollectionRecord,
  type CollectionRow,
  type GivenIdentifier,
  type MetadataRecord,
  type ObjectRecord,
  type ObjectRow,
  type PageRecord,
  type PageRow,
  type Withdrawal,
  withdrawal,
} from '../catalog.js';
import type { CollectionMetadata, ObjectMetadata } from '../metadata.js';
import type { CatalogStore, IdentifierGrant, IdentifierLedger, PageKey } from '../store.js';
import { connectPool, redactUrl } from './connect.js';
import { migrate } from './migrations.js';

/** A connection inside a transaction, or the pool (one statement, its own transaction). */
type Queryable = Pick<pg.PoolClient, 'query'>;

const rowsOf = async <T extends pg.QueryResultRow>(db: Queryable, sql: string, values: unknown[] = []): Promise<T[]> => (await db.query<T>(sql, values)).rows;

/** The identifiers given so far, in memory: the planner asks while it names pages, without a round trip each. */
class LedgerSnapshot implements IdentifierLedger {
  private readonly bySource = new Map<string, GivenIdentifier>();
  private readonly objectKeys = new Set<string>();
  private readonly identifierKeys = new Set<string>();

  add(row: IdentifierGrant): void {
    this.bySource.set(`${row.sourcePage}\0${row.source}`, { objectId: row.objectId, identifier: row.identifier });
    this.objectKeys.add(row.objectId.toLowerCase());
    this.identifierKeys.add(row.identifier.toLowerCase());
  }

  givenIdentifier(source: string, sourcePage: number): GivenIdentifier | undefined {
    return this.bySource.get(`${sourcePage}\0${source}`);
  }

  objectIdTaken(id: string): boolean {
    return this.objectKeys.has(id.toLowerCase());
  }

  identifierTaken(identifier: string): boolean {
    return this.identifierKeys.has(identifier.toLowerCase());
  }
}

/**
 * The catalog on PostgreSQL, for several servers and workers on different machines: the tables
 * of the SQLite catalog, created by versioned migrations; what SQLite writes in one transaction is
 * one transaction here too (with its Change Discovery activity), and every write transaction bumps
 * catalog_version, which readers cache under.
 */
export class PostgresCatalog implements CatalogStore {
  private ledger: LedgerSnapshot | undefined;
  private closed = false;

  private constructor(
    private readonly pool: pg.Pool,
    readonly location: string,
  ) {}

  /** Connects (a bounded pool) and migrates the schema's tables, once across processes. */
  static async open(url: string, options: { schema?: string | undefined } = {}): Promise<PostgresCatalog> {
    const { pool, schema } = await connectPool(url, options);
    try {
      await migrate(pool, schema);
    } catch (error) {
      await pool.end().catch(() => undefined);
      throw error;
    }
    return new PostgresCatalog(pool, `${redactUrl(url)}${options.schema ? ` (schema ${schema})` : ''}`);
  }

  /** Runs `work` in one write transaction, taking the catalog's write lock (the version row) first. */
  private async write<T>(work: (db: Queryable) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('UPDATE catalog_version SET version = version + 1 WHERE id = 1');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  async changeVersion(): Promise<string> {
    const [row] = await rowsOf<{ version: number }>(this.pool, 'SELECT version FROM catalog_version WHERE id = 1');
    return String(row?.version ?? 0);
  }

  private async pageIn(db: Queryable, sql: string, values: unknown[]): Promise<PageRecord | undefined> {
    const [row] = await rowsOf<PageRow>(db, sql, values);
    return row && toRecord(row);
  }

  page(sourcePath: string, sourcePage: number): Promise<PageRecord | undefined> {
    return this.pageIn(this.pool, 'SELECT * FROM pages WHERE source_path = $1 AND source_page = $2', [sourcePath, sourcePage]);
  }

  pageByIdentifier(identifier: string): Promise<PageRecord | undefined> {
    return this.pageIn(this.pool, 'SELECT * FROM pages WHERE identifier = $1', [identifier]);
  }

  async recordPage(page: PageRecord): Promise<void> {
    await this.write(async (db) => {
      const owner = await this.pageIn(db, 'SELECT * FROM pages WHERE identifier = $1', [page.identifier]);
      if (owner && (owner.sourcePath !== page.sourcePath || owner.sourcePage !== page.sourcePage)) {
        throw new IdentifierConflictError(`identifier ${page.identifier} is recorded for another master (${owner.sourcePath}, page ${owner.sourcePage}); not replaced`);
      }
      await db.query(
        `INSERT INTO pages (source_path, source_page, object_id, sequence, identifier, source_size, source_mtime_ms,
           source_sha256, settings, derivative_path, width, height, converted_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
         ON CONFLICT (source_path, source_page) DO UPDATE SET object_id = excluded.object_id, sequence = excluded.sequence,
           identifier = excluded.identifier, source_size = excluded.source_size, source_mtime_ms = excluded.source_mtime_ms,
           source_sha256 = excluded.source_sha256, settings = excluded.settings, derivative_path = excluded.derivative_path,
           width = excluded.width, height = excluded.height, converted_at = excluded.converted_at`,
        [page.sourcePath, page.sourcePage, page.objectId, page.sequence, page.identifier, page.sourceSize, page.sourceMtimeMs,
          page.sourceSha256, page.settings, page.derivativePath, page.width, page.height, page.convertedAt],
      );
    });
  }

  async removePage(sourcePath: string, sourcePage: number): Promise<void> {
    await this.write((db) => db.query('DELETE FROM pages WHERE source_path = $1 AND source_page = $2', [sourcePath, sourcePage]));
  }

  async pages(objectId: string): Promise<PageRecord[]> {
    return (await rowsOf<PageRow>(this.pool, 'SELECT * FROM pages WHERE object_id = $1 ORDER BY sequence', [objectId])).map(toRecord);
  }

  async adoptPublishedIdentifiers(mastersRoot: string): Promise<void> {
    if ((await rowsOf(this.pool, 'SELECT 1 FROM identifiers LIMIT 1')).length > 0) return;
    const prefix = `${mastersRoot.replace(/\/+$/, '')}/`;
    await this.write((db) =>
      db.query(
        `INSERT INTO identifiers (source, source_page, object_id, identifier, object_key, identifier_key)
         SELECT substr(source_path, $1), source_page, object_id, identifier, lower(object_id), lower(identifier)
         FROM pages WHERE substr(source_path, 1, $2) = $3 ORDER BY converted_at
         ON CONFLICT DO NOTHING`,
        [prefix.length + 1, prefix.length, prefix],
      ),
    );
  }

  /** Read afresh each time (another process may have given identifiers since), then kept up to date by giveIdentifiers. */
  async identifierLedger(): Promise<IdentifierLedger> {
    const ledger = new LedgerSnapshot();
    const rows = await rowsOf<{ source: string; source_page: number; object_id: string; identifier: string }>(
      this.pool,
      'SELECT source, source_page, object_id, identifier FROM identifiers',
    );
    for (const r of rows) ledger.add({ source: r.source, sourcePage: r.source_page, objectId: r.object_id, identifier: r.identifier });
    this.ledger = ledger;
    return ledger;
  }

  async giveIdentifiers(pages: readonly IdentifierGrant[]): Promise<void> {
    await this.write(async (db) => {
      for (const p of pages) {
        await db.query('INSERT INTO identifiers (source, source_page, object_id, identifier, object_key, identifier_key) VALUES ($1, $2, $3, $4, $5, $6)', [
          p.source,
          p.sourcePage,
          p.objectId,
          p.identifier,
          p.objectId.toLowerCase(),
          p.identifier.toLowerCase(),
        ]);
      }
    });
    for (const p of pages) this.ledger?.add(p);
  }

  async objects(): Promise<ObjectRecord[]> {
    return (await rowsOf<ObjectRow>(this.pool, 'SELECT id, folder, page_count, updated_at FROM objects')).map(toObject).sort((a, b) => naturalCompare(a.id, b.id));
  }

  async object(id: string): Promise<ObjectRecord | undefined> {
    const [row] = await rowsOf<ObjectRow>(this.pool, 'SELECT id, folder, page_count, updated_at FROM objects WHERE id = $1', [id]);
    return row && toObject(row);
  }

  async setObjectPages(object: { id: string; folder: string }, pages: readonly PageKey[]): Promise<void> {
    await this.recordObject(object, pages);
  }

  async recordObject(object: { id: string; folder: string }, pages: readonly PageKey[], described?: { metadata: ObjectMetadata; sources: readonly string[] }): Promise<void> {
    await this.write(async (db) => {
      const keep = new Set(pages.map((p) => `${p.sourcePage}\0${p.sourcePath}`));
      for (const row of await rowsOf<{ source_path: string; source_page: number }>(db, 'SELECT source_path, source_page FROM pages WHERE object_id = $1', [object.id])) {
        if (!keep.has(`${row.source_page}\0${row.source_path}`)) await db.query('DELETE FROM pages WHERE source_path = $1 AND source_page = $2', [row.source_path, row.source_page]);
      }
      for (const [i, p] of pages.entries()) {
        await db.query('UPDATE pages SET sequence = $1, object_id = $2 WHERE source_path = $3 AND source_page = $4', [i + 1, object.id, p.sourcePath, p.sourcePage]);
      }
      const [count] = await rowsOf<{ n: number }>(db, 'SELECT COUNT(*) AS n FROM pages WHERE object_id = $1', [object.id]);
      await db.query(
        `INSERT INTO objects (id, folder, page_count, updated_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (id) DO UPDATE SET folder = excluded.folder, page_count = excluded.page_count, updated_at = excluded.updated_at`,
        [object.id, object.folder, count?.n ?? 0, new Date().toISOString()],
      );
      if (described) await this.writeObjectMetadata(db, object.id, described.metadata, described.sources);
      await this.noteObject(db, object.id);
    });
  }

  async setObjectMetadata(id: string, metadata: ObjectMetadata, sources: readonly string[]): Promise<void> {
    await this.write(async (db) => {
      await this.writeObjectMetadata(db, id, metadata, sources);
      await this.noteObject(db, id);
    });
  }

  private async writeObjectMetadata(db: Queryable, id: string, metadata: ObjectMetadata, sources: readonly string[]): Promise<void> {
    await db.query(
      `INSERT INTO object_metadata (object_id, metadata, sources, updated_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (object_id) DO UPDATE SET metadata = excluded.metadata, sources = excluded.sources, updated_at = excluded.updated_at`,
      [id, JSON.stringify(metadata), JSON.stringify(sources), new Date().toISOString()],
    );
  }

  async objectMetadata(id: string): Promise<MetadataRecord | undefined> {
    const [row] = await rowsOf<{ metadata: string; sources: string; updated_at: string }>(this.pool, 'SELECT metadata, sources, updated_at FROM object_metadata WHERE object_id = $1', [id]);
    return row && { metadata: JSON.parse(row.metadata) as ObjectMetadata, sources: JSON.parse(row.sources) as string[], updatedAt: row.updated_at };
  }

  async allObjectMetadata(): Promise<Map<string, ObjectMetadata>> {
    const rows = await rowsOf<{ object_id: string; metadata: string }>(this.pool, 'SELECT object_id, metadata FROM object_metadata');
    return new Map(rows.map((r) => [r.object_id, JSON.parse(r.metadata) as ObjectMetadata]));
  }

  async withdrawObject(id: string, options: { removeDerivatives?: boolean } = {}): Promise<Withdrawal> {
    const pages = await this.write(async (db) => {
      const found = (await rowsOf<PageRow>(db, 'SELECT * FROM pages WHERE object_id = $1 ORDER BY sequence', [id])).map(toRecord);
      const known = (await rowsOf(db, 'SELECT 1 FROM objects WHERE id = $1', [id])).length > 0;
      if (!known && found.length === 0) return undefined;
      await db.query('DELETE FROM pages WHERE object_id = $1', [id]);
      await db.query('DELETE FROM objects WHERE id = $1', [id]);
      await db.query('DELETE FROM object_metadata WHERE object_id = $1', [id]);
      await this.noteObject(db, id);
      return found;
    });
    return withdrawal(pages, options.removeDerivatives === true);
  }

  async isWithdrawn(id: string): Promise<boolean> {
    return (await this.latestActivity(this.pool, 'Manifest', id))?.type === 'Delete';
  }

  async isWithdrawnIdentifier(identifier: string): Promise<boolean> {
    if (await this.pageByIdentifier(identifier)) return false;
    const [row] = await rowsOf<{ object_id: string }>(this.pool, 'SELECT object_id FROM identifiers WHERE identifier_key = $1', [identifier.toLowerCase()]);
    return row !== undefined && (await this.isWithdrawn(row.object_id));
  }

  async setObjectAccess(id: string, policy: AccessPolicy, sources: readonly string[]): Promise<void> {
    await this.write((db) =>
      db.query(
        `INSERT INTO object_access (object_id, policy, sources, updated_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (object_id) DO UPDATE SET policy = excluded.policy, sources = excluded.sources, updated_at = excluded.updated_at`,
        [id, JSON.stringify(policy), JSON.stringify(sources), new Date().toISOString()],
      ),
    );
  }

  async objectAccess(id: string): Promise<AccessPolicy> {
    const [row] = await rowsOf<{ policy: string }>(this.pool, 'SELECT policy FROM object_access WHERE object_id = $1', [id]);
    return row ? policyFromJson(row.policy) : OPEN;
  }

  async setCollectionMetadata(covered: Iterable<string>, described: ReadonlyMap<string, { metadata: CollectionMetadata; sources: readonly string[] }>): Promise<void> {
    const now = new Date().toISOString();
    const coveredPaths = [...covered];
    await this.write(async (db) => {
      const descriptionOf = async (path: string): Promise<string | undefined> =>
        (await rowsOf<{ metadata: string }>(db, 'SELECT metadata FROM collection_metadata WHERE path = $1', [path]))[0]?.metadata;
      const paths = new Set([...coveredPaths, ...described.keys()]);
      const before = new Map<string, string | undefined>();
      for (const path of paths) before.set(path, await descriptionOf(path));
      for (const path of coveredPaths) await db.query('DELETE FROM collection_metadata WHERE path = $1', [path]);
      for (const [path, d] of described) {
        await db.query(
          `INSERT INTO collection_metadata (path, metadata, sources, updated_at) VALUES ($1, $2, $3, $4)
           ON CONFLICT (path) DO UPDATE SET metadata = excluded.metadata, sources = excluded.sources, updated_at = excluded.updated_at`,
          [path, JSON.stringify(d.metadata), JSON.stringify(d.sources), now],
        );
      }
      // A collection whose description was added, edited or removed is an Update of that collection.
      for (const path of paths) if (before.get(path) !== (await descriptionOf(path))) await this.appendActivity(db, 'Update', 'Collection', path, now, null);
    });
  }

  async collectionMetadata(): Promise<Map<string, CollectionRecord>> {
    const rows = await rowsOf<CollectionRow & { path: string }>(this.pool, 'SELECT path, metadata, sources, updated_at FROM collection_metadata');
    return new Map(rows.map((r) => [r.path, toCollection(r)]));
  }

  async collectionRecord(path: string): Promise<CollectionRecord | undefined> {
    const [row] = await rowsOf<CollectionRow>(this.pool, 'SELECT metadata, sources, updated_at FROM collection_metadata WHERE path = $1', [path]);
    return row && toCollection(row);
  }

  async activityCount(): Promise<number> {
    return (await rowsOf<{ n: number }>(this.pool, 'SELECT COUNT(*) AS n FROM activities'))[0]?.n ?? 0;
  }

  async activities(offset: number, limit: number): Promise<ActivityRecord[]> {
    const rows = await rowsOf<{ id: number; type: ActivityType; object_id: string; object_type: ActivityObjectType; end_time: string }>(
      this.pool,
      'SELECT id, type, object_id, object_type, end_time FROM activities ORDER BY id LIMIT $1 OFFSET $2',
      [limit, offset],
    );
    return rows.map((r) => ({ id: r.id, type: r.type, objectId: r.object_id, objectType: r.object_type, endTime: r.end_time }));
  }

  private async latestActivity(db: Queryable, objectType: ActivityObjectType, objectId: string): Promise<{ type: ActivityType; state: string | null } | undefined> {
    const [row] = await rowsOf<{ type: ActivityType; state: string | null }>(
      db,
      'SELECT type, state FROM activities WHERE object_type = $1 AND object_id = $2 ORDER BY id DESC LIMIT 1',
      [objectType, objectId],
    );
    return row;
  }

  private async appendActivity(db: Queryable, type: ActivityType, objectType: ActivityObjectType, objectId: string, endTime: string, state: string | null): Promise<void> {
    await db.query('INSERT INTO activities (type, object_id, object_type, end_time, state) VALUES ($1, $2, $3, $4, $5)', [type, objectId, objectType, endTime, state]);
  }

  /** Records the object's change, if its published state changed (inside the caller's transaction), as the SQLite catalog does. */
  private async noteObject(db: Queryable, id: string): Promise<void> {
    const pages = await rowsOf(
      db,
      'SELECT identifier, sequence, source_sha256, settings, derivative_path, width, height FROM pages WHERE object_id = $1 ORDER BY sequence, identifier',
      [id],
    );
    let state: string | undefined;
    if (pages.length > 0) {
      const [metadata] = await rowsOf<{ metadata: string }>(db, 'SELECT metadata FROM object_metadata WHERE object_id = $1', [id]);
      state = stateDigest({ pages, metadata: metadata?.metadata ?? null });
    }
    const type = activityFor(await this.latestActivity(db, 'Manifest', id), state);
    if (type) await this.appendActivity(db, type, 'Manifest', id, new Date().toISOString(), type === 'Delete' ? null : (state ?? null));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}
