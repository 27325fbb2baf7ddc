import { createHash } from 'node:crypto';
import type Database from 'better-sqlite3';

/**
 * The catalog's change log, which the Change Discovery stream (/iiif/activity/all-changes) is
 * read from: one row per change to a published resource, appended in the same transaction as the
 * change, never rewritten. Ids grow with time, so "newest last" is the id order.
 *
 * What counts as a change is decided by the resource's state, not by who wrote it: each Create or
 * Update row keeps a digest of what the published document is made of (for an object: its pages
 * in order, with each page's master checksum, conversion settings, derivative and size, and its
 * descriptive metadata). A write that leaves the digest as it was (an unchanged re-run of
 * `vitrine convert`) adds nothing; a run killed between a page's record and its object's completes
 * on the next run, whose digest then differs from the last recorded one.
 */
export type ActivityType = 'Create' | 'Update' | 'Delete';
/** The Presentation API class of the resource an activity is about. */
export type ActivityObjectType = 'Manifest' | 'Collection';

export interface ActivityRecord {
  /** Position in the stream (1-based, newest last; synthesised streams number from 1 too). */
  readonly id: number;
  readonly type: ActivityType;
  /** An object id (Manifest) or a folder path ('' for the top) (Collection): routes turn them into URLs. */
  readonly objectId: string;
  readonly objectType: ActivityObjectType;
  /** When the change was committed (ISO 8601, UTC). */
  readonly endTime: string;
}

export const ACTIVITIES_SCHEMA = `
CREATE TABLE IF NOT EXISTS activities (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  type TEXT NOT NULL,
  object_id TEXT NOT NULL,
  object_type TEXT NOT NULL,
  end_time TEXT NOT NULL,
  state TEXT
);
CREATE INDEX IF NOT EXISTS activities_by_object ON activities (object_type, object_id, id);
`;

/** A short digest of a resource's state (any JSON-able value). */
export const stateDigest = (value: unknown): string => createHash('sha256').update(JSON.stringify(value)).digest('base64url');

/**
 * What a resource's current state (its digest; undefined when no longer published) makes of its last
 * activity: Create when it was not published, Update when its digest changed, Delete when it went
 * away, nothing when nothing changed. Both catalogs (SQLite, PostgreSQL) decide by this.
 */
export function activityFor(last: { type: ActivityType; state: string | null } | undefined, state: string | undefined): ActivityType | undefined {
  const published = last !== undefined && last.type !== 'Delete';
  if (state === undefined) return published ? 'Delete' : undefined;
  if (!published) return 'Create';
  return last.state === state ? undefined : 'Update';
}

interface ActivityRow {
  id: number;
  type: ActivityType;
  object_id: string;
  object_type: ActivityObjectType;
  end_time: string;
}

const toActivity = (r: ActivityRow): ActivityRecord => ({ id: r.id, type: r.type, objectId: r.object_id, objectType: r.object_type, endTime: r.end_time });

/** The activities table of one catalog connection. Callers open the transaction; this only reads and appends. */
export class ActivityLog {
  constructor(private readonly statement: (sql: string) => Database.Statement) {}

  private latest(objectType: ActivityObjectType, objectId: string): { type: ActivityType; state: string | null } | undefined {
    return this.statement('SELECT type, state FROM activities WHERE object_type = ? AND object_id = ? ORDER BY id DESC LIMIT 1').get(objectType, objectId) as
      | { type: ActivityType; state: string | null }
      | undefined;
  }

  private append(type: ActivityType, objectType: ActivityObjectType, objectId: string, endTime: string, state: string | null): ActivityType {
    this.statement('INSERT INTO activities (type, object_id, object_type, end_time, state) VALUES (?, ?, ?, ?, ?)').run(type, objectId, objectType, endTime, state);
    return type;
  }

  /**
   * Records the resource's current state (its digest; undefined when it is no longer published):
   * Create when it was not published, Update when its digest changed, Delete when it went away,
   * nothing when nothing changed. Returns what was recorded.
   */
  note(objectType: ActivityObjectType, objectId: string, state: string | undefined, endTime = new Date().toISOString()): ActivityType | undefined {
    const type = activityFor(this.latest(objectType, objectId), state);
    return type && this.append(type, objectType, objectId, endTime, type === 'Delete' ? null : (state ?? null));
  }

  /** Records an Update of a resource whose change the caller saw (a collection's description). */
  updated(objectType: ActivityObjectType, objectId: string, endTime = new Date().toISOString()): void {
    this.append('Update', objectType, objectId, endTime, null);
  }

  /** Whether the resource's last activity is its Delete: a known resource that was withdrawn. */
  withdrawn(objectType: ActivityObjectType, objectId: string): boolean {
    return this.latest(objectType, objectId)?.type === 'Delete';
  }

  count(): number {
    return (this.statement('SELECT COUNT(*) AS n FROM activities').get() as { n: number }).n;
  }

  /** `limit` activities from position `offset` (0-based), oldest first. */
  slice(offset: number, limit: number): ActivityRecord[] {
    const rows = this.statement('SELECT id, type, object_id, object_type, end_time FROM activities ORDER BY id LIMIT ? OFFSET ?').all(limit, offset) as ActivityRow[];
    return rows.map(toActivity);
  }

  /** The time of the newest activity, if any. */
  newest(): string | undefined {
    return (this.statement('SELECT end_time FROM activities ORDER BY id DESC LIMIT 1').get() as { end_time: string } | undefined)?.end_time;
  }
}
