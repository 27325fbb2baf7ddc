import { statSync } from 'node:fs';
import { Catalog } from './catalog.js';
import type { CatalogSource, CatalogView } from './store.js';

/**
 * One read-only connection to a data folder's catalog for a server: it sees every conversion as
 * soon as it commits (WAL), and is reopened when the file was replaced (a folder converted again
 * from scratch) or closed when it is gone. Its version is the file's inode and SQLite's
 * data_version: a stat and a pragma, no query.
 */
export class CatalogReader implements CatalogSource {
  private open: { catalog: Catalog; ino: number; dev: number } | undefined;

  constructor(readonly file: string) {}

  get location(): string {
    return this.file;
  }

  /** The catalog and its version, or undefined when there is none (yet). */
  async current(): Promise<CatalogView | undefined> {
    const info = statSync(this.file, { throwIfNoEntry: false });
    if (!info) {
      this.closeNow();
      return undefined;
    }
    if (!this.open || this.open.ino !== info.ino || this.open.dev !== info.dev) {
      this.closeNow();
      this.open = { catalog: new Catalog(this.file, { readonly: true }), ino: info.ino, dev: info.dev };
    }
    // The search index's tables only (the catalog is on PostgreSQL, and --catalog was not given): no catalog here.
    if (!this.open.catalog.hasObjects) return undefined;
    return { store: this.open.catalog, version: `${this.open.ino}:${this.open.catalog.dataVersion()}` };
  }

  private closeNow(): void {
    this.open?.catalog.close();
    this.open = undefined;
  }

  async close(): Promise<void> {
    this.closeNow();
  }
}
