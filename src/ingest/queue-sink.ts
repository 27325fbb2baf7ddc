import path from 'node:path';
import type { Logger } from 'pino';
import { openCatalog, type CatalogLocation } from '../catalog/open.js';
import type { CatalogStore } from '../catalog/store.js';
import { CATALOG_FILE } from '../presentation/store.js';
import { SqliteSearchIndex } from '../search/sqlite-index.js';
import type { IngestService } from './service.js';
import type { IngestSink, WithdrawDerivatives } from './sink.js';

/**
 * The sink of `vitrine serve --watch` with the ingest service: a folder whose files are stable is
 * queued for conversion (the same job the ingest API queues), and the objects of a folder that is
 * gone are withdrawn from the catalog (manifest 410, gone from its collections, a Delete activity),
 * their derivatives kept or removed as configured.
 */
export class QueueSink implements IngestSink {
  private catalog: CatalogStore | undefined;

  constructor(
    private readonly ingest: IngestService,
    /** The data folder (its catalog). */
    private readonly data: string,
    private readonly withdrawDerivatives: WithdrawDerivatives,
    private readonly logger: Logger,
    /** The catalog, when it is not the data folder's SQLite file. */
    private readonly location: CatalogLocation = { kind: 'sqlite', file: path.join(data, CATALOG_FILE) },
  ) {}

  async objectReady(folder: string): Promise<void> {
    const job = await this.ingest.enqueueFolder(folder);
    this.logger.info({ folder, job: job.id }, `watch: ${folder} is stable: queued as job ${job.id}`);
  }

  async objectRemoved(folder: string): Promise<void> {
    // A writing connection of its own (WAL: the worker's and the server's readers go on meanwhile).
    this.catalog ??= await openCatalog(this.location);
    const objects = (await this.catalog.objects()).filter((o) => o.folder === folder);
    for (const object of objects) {
      const result = await this.catalog.withdrawObject(object.id, { removeDerivatives: this.withdrawDerivatives === 'remove' });
      if (!result.withdrawn) continue;
      // Its text goes with it (the index's tables are in the catalog file; archive-wide counts would still find it).
      const text = new SqliteSearchIndex(path.join(this.data, CATALOG_FILE));
      try {
        text.retainPages(object.id, []);
      } finally {
        text.close();
      }
      const files = this.withdrawDerivatives === 'remove' ? `${result.removedFiles.length} derivative(s) removed` : 'derivatives kept';
      this.logger.info({ folder, object: object.id }, `watch: ${folder} is gone: object ${object.id} withdrawn (${result.pages} page(s), ${files})`);
    }
  }

  async collectionChanged(folder: string): Promise<void> {
    // The ingest of one object does not rewrite collection descriptions (a whole-tree `vitrine convert` does).
    this.logger.info({ folder }, `watch: the collection description of ${folder || 'the top collection'} changed: a run of vitrine convert applies it`);
  }

  async close(): Promise<void> {
    await this.catalog?.close();
    this.catalog = undefined;
  }
}
