import pg from 'pg';
import { redactUrl } from '../open.js';

export { redactUrl };

/** The catalog server could not be reached or refused us: one line naming host, port, database and user, never the password. */
export class CatalogConnectionError extends Error {
  override name = 'CatalogConnectionError';
}

/** Where a URL points, for an error message: user@host:port/db (no password). */
function target(url: URL): string {
  const user = url.username ? `${decodeURIComponent(url.username)}@` : '';
  return `${user}${url.hostname || 'localhost'}:${url.port || '5432'}/${decodeURIComponent(url.pathname.slice(1)) || '(default database)'}`;
}

/** A PostgreSQL identifier for a schema name (letters, digits, _), refused otherwise. */
export function checkSchemaName(schema: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(schema)) throw new CatalogConnectionError(`catalog: schema '${schema}': expected letters, digits and _ (a PostgreSQL identifier)`);
  return schema;
}

/** bigint (COUNT(*), bigserial, file sizes) as a JS number: the catalog's values all fit in 2^53. */
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.INT8 ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

/** Connections per process at most: a server's requests wait for one rather than open more. */
export const POOL_SIZE = 8;

/**
 * A bounded pool to the catalog server, its tables in `schema` (search_path), checked with one
 * query so that an unreachable server or a wrong database fails at start with one clear line.
 */
export async function connectPool(url: string, options: { schema?: string | undefined } = {}): Promise<{ pool: pg.Pool; schema: string; where: string }> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new CatalogConnectionError(`catalog: ${redactUrl(url)} is not a PostgreSQL URL (postgres://user@host:5432/db)`);
  }
  const schema = checkSchemaName(options.schema ?? parsed.searchParams.get('schema') ?? 'public');
  parsed.searchParams.delete('schema');
  const where = target(parsed);
  const pool = new pg.Pool({
    connectionString: parsed.toString(),
    max: POOL_SIZE,
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 30_000,
    options: `-c search_path=${schema}`,
    types,
  });
  // An idle connection dropped by the server (restart): the pool replaces it; nothing to crash for.
  pool.on('error', () => undefined);
  try {
    await pool.query('SELECT 1');
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw new CatalogConnectionError(`catalog: cannot use PostgreSQL at ${where}: ${describe(error)}`);
  }
  return { pool, schema, where };
}

/** A connection error's reason in a few words, without anything from the URL's password. */
function describe(error: unknown): string {
  const e = error as { code?: string; message?: string };
  const message = (e.message ?? String(error)).split('\n')[0]!;
  return e.code && !message.includes(e.code) ? `${message} (${e.code})` : message;
}
