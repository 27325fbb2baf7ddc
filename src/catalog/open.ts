import path from 'node:path';
import { Catalog } from './catalog.js';
import { CatalogReader } from './reader.js';
import type { CatalogSource, CatalogStore } from './store.js';

/** The catalog file in a data folder (the embedded default). */
export const CATALOG_FILE = 'catalog.sqlite';

/** Where a catalog is: the SQLite file, or a PostgreSQL server (its URL, and the schema the tables are in). */
export type CatalogLocation = { readonly kind: 'sqlite'; readonly file: string } | { readonly kind: 'postgres'; readonly url: string; readonly schema: string | undefined };

/** Whether `--catalog` names a PostgreSQL server rather than a file. */
export const isPostgresUrl = (spec: string): boolean => /^postgres(ql)?:\/\//i.test(spec);

/**
 * The catalog `--catalog` names (a file, or postgres://user@host[:port]/db[?schema=name]), or the
 * data folder's SQLite file when none is given. `schema` (--catalog-schema) wins over the URL's.
 */
export function catalogLocation(data: string, spec?: string, schema?: string): CatalogLocation {
  if (spec === undefined) return { kind: 'sqlite', file: path.join(data, CATALOG_FILE) };
  if (!isPostgresUrl(spec)) return { kind: 'sqlite', file: path.resolve(spec) };
  return { kind: 'postgres', url: spec, schema };
}

/** Where the catalog is, for a log line: the SQLite file, or the PostgreSQL URL with its password masked and the schema. */
export function describeCatalog(location: CatalogLocation): string {
  if (location.kind === 'sqlite') return location.file;
  const url = new URL(location.url);
  const schema = location.schema ?? url.searchParams.get('schema') ?? 'public';
  url.search = '';
  return `PostgreSQL ${redactUrl(url.toString())} (schema ${schema})`;
}

/** A PostgreSQL URL with its password masked, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'postgres://(unparsable URL)';
  }
}

/** A writing connection to the catalog (tables created or migrated first). */
export async function openCatalog(location: CatalogLocation): Promise<CatalogStore> {
  if (location.kind === 'sqlite') return new Catalog(location.file);
  const { PostgresCatalog } = await import('./postgres/catalog.js');
  return PostgresCatalog.open(location.url, { schema: location.schema });
}

/** A connection for a reader that runs once (an export): a SQLite file must exist, and is not written. */
export async function openCatalogForReading(location: CatalogLocation): Promise<CatalogStore> {
  if (location.kind === 'sqlite') return new Catalog(location.file, { readonly: true });
  return openCatalog(location);
}

/** Read access for a server: follows the catalog as conversions commit to it. */
export async function openCatalogSource(location: CatalogLocation): Promise<CatalogSource> {
  if (location.kind === 'sqlite') return new CatalogReader(location.file);
  const { PostgresCatalogSource } = await import('./postgres/source.js');
  return PostgresCatalogSource.open(location.url, { schema: location.schema });
}
