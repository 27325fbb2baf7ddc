import { statSync } from 'node:fs';
import { SqliteSearchIndex } from './sqlite-index.js';
import type { SearchIndex } from './search-index.js';

/**
 * Read access to the search index in a data folder's catalog for the server: one read-only
 * connection, reopened when the catalog file is replaced (a folder converted again from scratch)
 * and closed when it is gone, like the catalog's own reader.
 */
export class SearchStore {
  private open: { index: SearchIndex; ino: number; dev: number } | undefined;

  constructor(readonly catalogFile: string) {}

  /** The index, or undefined when the data folder has no catalog (yet). */
  index(): SearchIndex | undefined {
    const info = statSync(this.catalogFile, { throwIfNoEntry: false });
    if (!info) {
      this.close();
      return undefined;
    }
    if (!this.open || this.open.ino !== info.ino || this.open.dev !== info.dev) {
      this.close();
      this.open = { index: new SqliteSearchIndex(this.catalogFile, { readonly: true }), ino: info.ino, dev: info.dev };
    }
    return this.open.index;
  }

  close(): void {
    this.open?.index.close();
    this.open = undefined;
  }
}
