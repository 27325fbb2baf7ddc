import { statSync } from 'node:fs';
import { Catalog } from './catalog.js';

/**
 * One read-only connection to a data folder's catalog for a server: it sees every conversion as
 * soon as it commits (WAL), and is reopened when the file was replaced (a folder converted again
 * from scratch) or closed when it is gone.
 */
export class CatalogReader {
  private open: { catalog: Catalog; ino: number; dev: number } | undefined;

  constructor(readonly file: string) {}

  /** The catalog and its file's inode (which changes when it is replaced), or undefined when there is none (yet). */
  current(): { readonly catalog: Catalog; readonly ino: number } | undefined {
    const info = statSync(this.file, { throwIfNoEntry: false });
    if (!info) {
      this.close();
      return undefined;
    }
    if (!this.open || this.open.ino !== info.ino || this.open.dev !== info.dev) {
      this.close();
      this.open = { catalog: new Catalog(this.file, { readonly: true }), ino: info.ino, dev: info.dev };
    }
    return this.open;
  }

  close(): void {
    this.open?.catalog.close();
    this.open = undefined;
  }
}
