import type pg from 'pg';

/**
 * The catalog's tables on PostgreSQL, as versioned migrations: each runs once, recorded in
 * vitrine_migrations. The tables are SQLite's (the same names and columns), with PostgreSQL types.
 * Append new migrations; never edit one that has shipped.
 */
export const MIGRATIONS: readonly { readonly version: number; readonly name: string; readonly sql: string }[] = [
  {
    version: 1,
    name: 'catalog tables',
    sql: `
CREATE TABLE objects (
  id TEXT PRIMARY KEY,
  folder TEXT NOT NULL,
  page_count INTEGER NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE TABLE pages (
  source_path TEXT NOT NULL,
  source_page INTEGER NOT NULL,
  object_id TEXT NOT NULL,
  sequence INTEGER NOT NULL,
  identifier TEXT NOT NULL UNIQUE,
  source_size BIGINT NOT NULL,
  source_mtime_ms DOUBLE PRECISION NOT NULL,
  source_sha256 TEXT NOT NULL,
  settings TEXT NOT NULL,
  derivative_path TEXT NOT NULL,
  width INTEGER NOT NULL,
  height INTEGER NOT NULL,
  converted_at TEXT NOT NULL,
  PRIMARY KEY (source_path, source_page)
);
CREATE INDEX pages_by_object ON pages (object_id, sequence);
CREATE TABLE identifiers (
  source TEXT NOT NULL,
  source_page INTEGER NOT NULL,
  object_id TEXT NOT NULL,
  identifier TEXT NOT NULL,
  object_key TEXT NOT NULL,
  identifier_key TEXT NOT NULL UNIQUE,
  PRIMARY KEY (source, source_page)
);
CREATE INDEX identifiers_by_object ON identifiers (object_key);
CREATE TABLE object_metadata (
  object_id TEXT PRIMARY KEY,
  metadata TEXT NOT NULL,
  sources TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE TABLE object_access (
  object_id TEXT PRIMARY KEY,
  policy TEXT NOT NULL,
  sources TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE TABLE collection_metadata (
  path TEXT PRIMARY KEY,
  metadata TEXT NOT NULL,
  sources TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE TABLE activities (
  id BIGSERIAL PRIMARY KEY,
  type TEXT NOT NULL,
  object_id TEXT NOT NULL,
  object_type TEXT NOT NULL,
  end_time TEXT NOT NULL,
  state TEXT
);
CREATE INDEX activities_by_object ON activities (object_type, object_id, id);
-- Bumped by every write transaction (which also serialises writers, as SQLite's BEGIN IMMEDIATE
-- does): servers cache what they read under it.
CREATE TABLE catalog_version (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  version BIGINT NOT NULL
);
INSERT INTO catalog_version (id, version) VALUES (1, 0);
`,
  },
];

/** An arbitrary constant of the advisory lock every process takes to migrate (one at a time, per database). */
const MIGRATION_LOCK = 0x76697472; // 'vitr'

/**
 * Brings the schema's tables up to the latest migration, once: the first process takes the
 * advisory lock and migrates, the others wait for it and then find nothing to do. Returns the
 * versions this call applied.
 */
export async function migrate(pool: pg.Pool, schema: string): Promise<number[]> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    await client.query(`CREATE TABLE IF NOT EXISTS vitrine_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`);
    const done = new Set((await client.query<{ version: number }>('SELECT version FROM vitrine_migrations')).rows.map((r) => r.version));
    const applied: number[] = [];
    for (const migration of MIGRATIONS) {
      if (done.has(migration.version)) continue;
      await client.query(migration.sql);
      await client.query('INSERT INTO vitrine_migrations (version, name) VALUES ($1, $2)', [migration.version, migration.name]);
      applied.push(migration.version);
    }
    await client.query('COMMIT');
    return applied;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
