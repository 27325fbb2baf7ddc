import type { CatalogSource, CatalogView } from '../store.js';
import { PostgresCatalog } from './catalog.js';

/** How long a server trusts the catalog version it read: at most one version query per interval, however many requests. */
export const VERSION_INTERVAL_MS = 1000;

/**
 * A server's access to a PostgreSQL catalog: one pool, and the catalog's version read at most
 * every second (its readers' caches follow it), so what another process commits is seen within a
 * second and an unchanged catalog costs no query per request.
 */
export class PostgresCatalogSource implements CatalogSource {
  private version: { value: string; readAt: number } | undefined;
  private reading: Promise<string> | undefined;

  private constructor(private readonly catalog: PostgresCatalog) {}

  static async open(url: string, options: { schema?: string | undefined } = {}): Promise<PostgresCatalogSource> {
    return new PostgresCatalogSource(await PostgresCatalog.open(url, options));
  }

  get location(): string {
    return this.catalog.location;
  }

  async current(): Promise<CatalogView> {
    const now = Date.now();
    if (!this.version || now - this.version.readAt >= VERSION_INTERVAL_MS) {
      // Requests arriving together share one query.
      this.reading ??= this.catalog.changeVersion().finally(() => (this.reading = undefined));
      this.version = { value: await this.reading, readAt: now };
    }
    return { store: this.catalog, version: this.version.value };
  }

  async close(): Promise<void> {
    await this.catalog.close();
  }
}
