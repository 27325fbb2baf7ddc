import { EventEmitter } from 'node:events';
import Database from 'better-sqlite3';
import { FINISHED_STATES, JOB_STATES, JobStateError, type Job, type JobData, type JobEvent, type JobKind, type JobProgress, type JobState, type NewJob } from './jobs.js';
import type { JobQueue } from './queue.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS ingest_jobs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  kind TEXT NOT NULL,
  key TEXT NOT NULL UNIQUE,
  state TEXT NOT NULL,
  data TEXT NOT NULL,
  progress TEXT NOT NULL DEFAULT '{}',
  error TEXT,
  attempts INTEGER NOT NULL DEFAULT 0,
  max_attempts INTEGER NOT NULL,
  run_at INTEGER NOT NULL,
  lease_owner TEXT,
  lease_until INTEGER,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  finished_at TEXT
);
CREATE INDEX IF NOT EXISTS ingest_jobs_by_state ON ingest_jobs (state, run_at);
CREATE TABLE IF NOT EXISTS ingest_job_links (
  parent INTEGER NOT NULL,
  child INTEGER NOT NULL,
  PRIMARY KEY (parent, child)
);
CREATE INDEX IF NOT EXISTS ingest_job_links_by_child ON ingest_job_links (child);
`;

interface JobRow {
  id: number;
  kind: JobKind;
  key: string;
  state: JobState;
  data: string;
  progress: string;
  error: string | null;
  attempts: number;
  max_attempts: number;
  run_at: number;
  lease_owner: string | null;
  lease_until: number | null;
  created_at: string;
  updated_at: string;
  finished_at: string | null;
}

const toJob = (row: JobRow): Job => ({
  id: String(row.id),
  kind: row.kind,
  key: row.key,
  state: row.state,
  data: JSON.parse(row.data) as JobData,
  progress: JSON.parse(row.progress) as JobProgress,
  attempts: row.attempts,
  maxAttempts: row.max_attempts,
  error: row.error ?? undefined,
  runAt: new Date(row.run_at).toISOString(),
  createdAt: row.created_at,
  updatedAt: row.updated_at,
  finishedAt: row.finished_at ?? undefined,
});

const FINISHED_SQL = FINISHED_STATES.map((s) => `'${s}'`).join(', ');

export interface SqliteJobQueueOptions {
  /** Attempts before a job fails for good (default 3). */
  readonly maxAttempts?: number | undefined;
  /** The first retry's delay; each next one doubles it (default 2000 ms). */
  readonly backoffMs?: number | undefined;
  /** The clock (tests of backoff move it). */
  readonly now?: (() => number) | undefined;
}

/**
 * The embedded queue engine: jobs in tables of their own in the data folder's catalog.sqlite
 * (its own connection, WAL), each change one transaction, so `kill -9` loses nothing. A claim is
 * an IMMEDIATE transaction: several processes on one catalog never take the same job.
 */
export class SqliteJobQueue implements JobQueue {
  private readonly db: Database.Database;
  private readonly events = new EventEmitter();
  private readonly maxAttempts: number;
  private readonly backoffMs: number;
  private readonly now: () => number;

  constructor(file: string, options: SqliteJobQueueOptions = {}) {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(SCHEMA);
    this.maxAttempts = options.maxAttempts ?? 3;
    this.backoffMs = options.backoffMs ?? 2000;
    this.now = options.now ?? Date.now;
  }

  private row(id: string | number): JobRow | undefined {
    return this.db.prepare('SELECT * FROM ingest_jobs WHERE id = ?').get(Number(id)) as JobRow | undefined;
  }

  private job(id: string | number): Job | undefined {
    const row = this.row(id);
    return row && toJob(row);
  }

  private emit(type: JobEvent['type'], id: string | number): void {
    if (this.events.listenerCount('event') === 0) return;
    const job = this.job(id);
    if (job) this.events.emit('event', { type, job } satisfies JobEvent);
  }

  private stamp(): { now: number; iso: string } {
    const now = this.now();
    return { now, iso: new Date(now).toISOString() };
  }

  async enqueue(spec: NewJob): Promise<Job> {
    const { now, iso } = this.stamp();
    let event: JobEvent['type'] | undefined;
    const id = this.db.transaction((): number => {
      const existing = this.db.prepare('SELECT * FROM ingest_jobs WHERE key = ?').get(spec.key) as JobRow | undefined;
      let id: number;
      if (!existing) {
        const inserted = this.db
          .prepare(
            `INSERT INTO ingest_jobs (kind, key, state, data, max_attempts, run_at, created_at, updated_at)
             VALUES (?, ?, 'queued', ?, ?, ?, ?, ?)`,
          )
          .run(spec.data.kind, spec.key, JSON.stringify(spec.data), spec.maxAttempts ?? this.maxAttempts, now, iso, iso);
        id = Number(inserted.lastInsertRowid);
        event = 'enqueued';
      } else {
        id = existing.id;
        const renew = existing.state === 'failed' || existing.state === 'cancelled' || (existing.state === 'done' && spec.renew === 'finished');
        if (renew) {
          this.db
            .prepare(
              `UPDATE ingest_jobs SET state = 'queued', data = ?, progress = '{}', error = NULL, attempts = 0, max_attempts = ?, run_at = ?,
                 lease_owner = NULL, lease_until = NULL, updated_at = ?, finished_at = NULL WHERE id = ?`,
            )
            .run(JSON.stringify(spec.data), spec.maxAttempts ?? this.maxAttempts, now, iso, id);
          this.db.prepare('DELETE FROM ingest_job_links WHERE parent = ?').run(id);
          event = 'enqueued';
        }
      }
      if (spec.parent !== undefined) this.db.prepare('INSERT OR IGNORE INTO ingest_job_links (parent, child) VALUES (?, ?)').run(Number(spec.parent), id);
      return id;
    })();
    if (event) this.emit(event, id);
    return this.job(id)!;
  }

  async claim(worker: string, leaseMs: number): Promise<Job | undefined> {
    const claimed = this.db.transaction((): { id: number; type: JobEvent['type'] } | undefined => {
      for (;;) {
        const { now, iso } = this.stamp();
        // Objects whose pages are done first (they finish what was started), then pages, then new objects.
        const row = this.db
          .prepare(
            `SELECT * FROM ingest_jobs j WHERE
               (state = 'queued' AND run_at <= @now)
               OR (state = 'running' AND lease_until < @now)
               OR (state = 'waiting' AND NOT EXISTS (
                 SELECT 1 FROM ingest_job_links l JOIN ingest_jobs c ON c.id = l.child
                 WHERE l.parent = j.id AND c.state NOT IN (${FINISHED_SQL})))
             ORDER BY CASE state WHEN 'waiting' THEN 0 ELSE 1 END, CASE kind WHEN 'page' THEN 0 ELSE 1 END, run_at, id
             LIMIT 1`,
          )
          .get({ now }) as JobRow | undefined;
        if (!row) return undefined;
        // A job whose workers kept dying with it (a master that crashes the process) fails for good.
        if (row.state === 'running' && row.attempts >= row.max_attempts) {
          this.db
            .prepare(`UPDATE ingest_jobs SET state = 'failed', error = ?, lease_owner = NULL, lease_until = NULL, updated_at = ?, finished_at = ? WHERE id = ?`)
            .run(`its worker stopped during each of ${row.attempts} attempts${row.error ? ` (last error: ${row.error})` : ''}`, iso, iso, row.id);
          continue;
        }
        const attempts = row.state === 'waiting' ? row.attempts : row.attempts + 1;
        this.db
          .prepare(`UPDATE ingest_jobs SET state = 'running', attempts = ?, lease_owner = ?, lease_until = ?, updated_at = ? WHERE id = ?`)
          .run(attempts, worker, now + leaseMs, iso, row.id);
        return { id: row.id, type: 'claimed' };
      }
    }).immediate();
    if (!claimed) return undefined;
    this.emit(claimed.type, claimed.id);
    return this.job(claimed.id);
  }

  /** Runs `update` on a job this worker holds; false when it does not hold it any more. */
  private held(id: string, worker: string, sql: string, ...params: unknown[]): boolean {
    const result = this.db.prepare(`${sql} WHERE id = ? AND state = 'running' AND lease_owner = ?`).run(...params, Number(id), worker);
    return result.changes === 1;
  }

  async heartbeat(id: string, worker: string, leaseMs: number, progress?: JobProgress): Promise<boolean> {
    const { now, iso } = this.stamp();
    const ok = progress
      ? this.held(id, worker, 'UPDATE ingest_jobs SET lease_until = ?, progress = ?, updated_at = ?', now + leaseMs, JSON.stringify(progress), iso)
      : this.held(id, worker, 'UPDATE ingest_jobs SET lease_until = ?', now + leaseMs);
    if (ok && progress) this.emit('progress', id);
    return ok;
  }

  async complete(id: string, worker: string, progress?: JobProgress): Promise<boolean> {
    const { iso } = this.stamp();
    const ok = this.held(
      id,
      worker,
      `UPDATE ingest_jobs SET state = 'done', progress = coalesce(?, progress), error = NULL, lease_owner = NULL, lease_until = NULL, updated_at = ?, finished_at = ?`,
      progress ? JSON.stringify(progress) : null,
      iso,
      iso,
    );
    if (ok) this.emit('done', id);
    return ok;
  }

  async waitForChildren(id: string, worker: string, data: JobData, progress?: JobProgress): Promise<boolean> {
    const { iso } = this.stamp();
    const ok = this.held(
      id,
      worker,
      `UPDATE ingest_jobs SET state = 'waiting', data = ?, progress = coalesce(?, progress), lease_owner = NULL, lease_until = NULL, updated_at = ?`,
      JSON.stringify(data),
      progress ? JSON.stringify(progress) : null,
      iso,
    );
    if (ok) this.emit('waiting', id);
    return ok;
  }

  async fail(id: string, worker: string, reason: string, options: { retryable: boolean }): Promise<Job | undefined> {
    const row = this.row(id);
    if (!row || row.state !== 'running' || row.lease_owner !== worker) return undefined;
    const { now, iso } = this.stamp();
    const retry = options.retryable && row.attempts < row.max_attempts;
    const ok = retry
      ? this.held(
          id,
          worker,
          `UPDATE ingest_jobs SET state = 'queued', error = ?, run_at = ?, lease_owner = NULL, lease_until = NULL, updated_at = ?`,
          reason,
          now + this.backoffMs * 2 ** (row.attempts - 1),
          iso,
        )
      : this.held(id, worker, `UPDATE ingest_jobs SET state = 'failed', error = ?, lease_owner = NULL, lease_until = NULL, updated_at = ?, finished_at = ?`, reason, iso, iso);
    if (!ok) return undefined;
    this.emit(retry ? 'retrying' : 'failed', id);
    return this.job(id);
  }

  async release(id: string, worker: string): Promise<boolean> {
    const { now, iso } = this.stamp();
    const ok = this.held(
      id,
      worker,
      `UPDATE ingest_jobs SET state = 'queued', attempts = max(attempts - 1, 0), run_at = ?, lease_owner = NULL, lease_until = NULL, updated_at = ?`,
      now,
      iso,
    );
    if (ok) this.emit('released', id);
    return ok;
  }

  async recover(isDead: (worker: string) => boolean): Promise<number> {
    const rows = this.db.prepare(`SELECT id, lease_owner FROM ingest_jobs WHERE state = 'running'`).all() as { id: number; lease_owner: string | null }[];
    let count = 0;
    for (const row of rows) {
      if (row.lease_owner === null || !isDead(row.lease_owner)) continue;
      // The attempt counts: a master that kills its worker each time ends failed, not in a loop.
      const { now, iso } = this.stamp();
      const changed = this.db
        .prepare(`UPDATE ingest_jobs SET state = 'queued', run_at = ?, lease_owner = NULL, lease_until = NULL, updated_at = ? WHERE id = ? AND state = 'running' AND lease_owner = ?`)
        .run(now, iso, row.id, row.lease_owner).changes;
      if (changed === 1) {
        count++;
        this.emit('released', row.id);
      }
    }
    return count;
  }

  async cancel(id: string): Promise<Job> {
    const { iso } = this.stamp();
    const cancelled = this.db.transaction((): number[] => {
      const row = this.row(id);
      if (!row) throw new JobStateError(`no job ${id}`);
      if (FINISHED_STATES.includes(row.state)) throw new JobStateError(`job ${id} is ${row.state}: only a queued, running or waiting job can be cancelled`);
      const ids = [row.id];
      if (row.kind === 'object') {
        const children = this.db
          .prepare(`SELECT c.id FROM ingest_job_links l JOIN ingest_jobs c ON c.id = l.child WHERE l.parent = ? AND c.state NOT IN (${FINISHED_SQL})`)
          .all(row.id) as { id: number }[];
        ids.push(...children.map((c) => c.id));
      }
      const update = this.db.prepare(
        `UPDATE ingest_jobs SET state = 'cancelled', lease_owner = NULL, lease_until = NULL, updated_at = ?, finished_at = ? WHERE id = ? AND state NOT IN (${FINISHED_SQL})`,
      );
      for (const job of ids) update.run(iso, iso, job);
      return ids;
    })();
    for (const job of cancelled) this.emit('cancelled', job);
    return this.job(id)!;
  }

  async retry(id: string): Promise<Job> {
    const { now, iso } = this.stamp();
    this.db.transaction(() => {
      const row = this.row(id);
      if (!row) throw new JobStateError(`no job ${id}`);
      if (row.state !== 'failed' && row.state !== 'cancelled') throw new JobStateError(`job ${id} is ${row.state}: only a failed or cancelled job can be retried`);
      const data = JSON.parse(row.data) as JobData;
      // An object plans again: its pages are looked at afresh (failed ones queued again, done ones kept).
      const fresh: JobData = data.kind === 'object' ? { ...data, phase: 'plan' } : data;
      this.db
        .prepare(
          `UPDATE ingest_jobs SET state = 'queued', data = ?, error = NULL, attempts = 0, run_at = ?, lease_owner = NULL, lease_until = NULL, updated_at = ?, finished_at = NULL WHERE id = ?`,
        )
        .run(JSON.stringify(fresh), now, iso, row.id);
    })();
    this.emit('enqueued', id);
    return this.job(id)!;
  }

  async get(id: string): Promise<Job | undefined> {
    if (!/^\d{1,15}$/.test(id)) return undefined;
    return this.job(id);
  }

  async list(filter: { state?: JobState | undefined; kind?: JobKind | undefined; limit?: number | undefined }): Promise<Job[]> {
    const rows = this.db
      .prepare(
        `SELECT * FROM ingest_jobs WHERE (@state IS NULL OR state = @state) AND (@kind IS NULL OR kind = @kind) ORDER BY id DESC LIMIT @limit`,
      )
      .all({ state: filter.state ?? null, kind: filter.kind ?? null, limit: filter.limit ?? 1000 }) as JobRow[];
    return rows.map(toJob);
  }

  async counts(): Promise<Record<JobState, number>> {
    const counts = Object.fromEntries(JOB_STATES.map((state) => [state, 0])) as Record<JobState, number>;
    for (const row of this.db.prepare('SELECT state, COUNT(*) AS n FROM ingest_jobs GROUP BY state').all() as { state: JobState; n: number }[]) {
      counts[row.state] = row.n;
    }
    return counts;
  }

  async children(id: string): Promise<Job[]> {
    const rows = this.db
      .prepare('SELECT c.* FROM ingest_job_links l JOIN ingest_jobs c ON c.id = l.child WHERE l.parent = ? ORDER BY c.id')
      .all(Number(id)) as JobRow[];
    return rows.map(toJob);
  }

  subscribe(listener: (event: JobEvent) => void): () => void {
    this.events.on('event', listener);
    return () => this.events.off('event', listener);
  }

  async close(): Promise<void> {
    this.events.removeAllListeners();
    this.db.close();
  }
}
