import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { Catalog } from '../catalog/catalog.js';
import { catalogLocation, type CatalogLocation } from '../catalog/open.js';
import type { Logger } from 'pino';
import { ConfigError } from '../config/load.js';
import { CATALOG_FILE } from '../presentation/store.js';
import { DEFAULT_SETTINGS } from '../pipeline/default-settings.js';
import { IMAGES_DIR } from '../pipeline/page-step.js';
import { loadRulesFile, RulesError } from '../pipeline/rules.js';
import { DEFAULT_VARIANTS, objectFolderOf, type VariantPreference } from '../pipeline/variants.js';
import type { PageStores } from '../pipeline/stores.js';
import { isS3Url } from '../storage/s3-location.js';
import type { S3ClientOptions } from '../storage/s3-storage.js';
import { INGEST_TEMP_DIR, normaliseFolder } from './context.js';
import { lookUpFolder, type FolderLookup } from './masters-folder.js';
import type { Job } from './jobs.js';
import { objectJob } from './object-job.js';
import type { JobQueue } from './queue.js';
import { openQueue, type QueueChoice } from './open-queue.js';
import { IngestWorker, mastersRoot } from './worker.js';

/**
 * Makes a data folder ready to ingest into (its images/ and its catalog's tables, before anything
 * reads them: the folder watcher's catch-up, the manifest service); returns the catalog's file.
 */
export async function prepareDataFolder(data: string): Promise<string> {
  await mkdir(path.join(data, IMAGES_DIR), { recursive: true });
  const catalogFile = path.join(data, CATALOG_FILE);
  new Catalog(catalogFile).close();
  return catalogFile;
}

/** A folder given to ingest that is not one under the masters root. */
export class IngestPathError extends Error {
  override name = 'IngestPathError';
}

/**
 * The variants of a rules file, for the ingest service. Its naming rules are refused: they group
 * files across folders, and the ingest converts an object folder at a time.
 */
export async function ingestVariants(file: string): Promise<VariantPreference> {
  try {
    const rules = await loadRulesFile(file);
    if (rules.rules) throw new ConfigError(`rules: ${file} has naming rules; the ingest service converts one folder = one object and takes only a rules file's variants`);
    return rules.variants ?? DEFAULT_VARIANTS;
  } catch (error) {
    if (error instanceof RulesError) throw new ConfigError(error.message);
    throw error;
  }
}

/**
 * The ingest service of `vitrine serve --masters DIR|s3://… --data DIR`: the queue (embedded, in the data
 * folder's catalog, or BullMQ on Redis with --queue) and the in-process worker (none with
 * --ingest-workers 0: `vitrine worker` processes run the jobs) that converts what is queued into the data folder,
 * with `vitrine convert`'s default settings. The folder watcher and the API queue folders with
 * `enqueueFolder`.
 */
export class IngestService {
  private worker: IngestWorker | undefined;

  private constructor(
    readonly queue: JobQueue,
    readonly masters: string,
    /** Which version of a page is converted: the rules file's variants, or the default. */
    readonly variants: VariantPreference,
    private readonly options: {
      data: string;
      catalogFile: string;
      catalog: CatalogLocation;
      /** An s3:// prefix the derivatives go to (absent: the data folder's images/). */
      images: string | undefined;
      s3: S3ClientOptions;
      /** The masters' store, for looking folders up (S3); absent: a local folder. */
      stores: PageStores | undefined;
      workers: number;
      pollMs: number;
      logger: Logger;
    },
  ) {}

  static async open(
    config: { masters: string; data: string; images?: string | undefined; ingestWorkers: number; rules?: string | undefined; s3Endpoint?: string | undefined; s3Region?: string | undefined; s3ForcePathStyle?: boolean | undefined; catalog?: string | undefined; catalogSchema?: string | undefined } & QueueChoice,
    logger: Logger,
  ): Promise<IngestService> {
    const masters = mastersRoot(config.masters);
    if (!isS3Url(masters)) {
      const info = await stat(masters).catch(() => undefined);
      if (!info?.isDirectory()) throw new ConfigError(`masters: ${config.masters} is not a folder`);
    }
    const variants = config.rules === undefined ? DEFAULT_VARIANTS : await ingestVariants(config.rules);
    const catalogFile = await prepareDataFolder(config.data);
    const s3 = { endpoint: config.s3Endpoint, region: config.s3Region, forcePathStyle: config.s3ForcePathStyle };
    // Only listed here (the API's look-ups): the worker opens its own stores to read and write.
    const stores = isS3Url(masters) ? (await import('../pipeline/s3-stores.js')).openPageStores(masters, config.data, { ...s3, tempDir: path.join(config.data, INGEST_TEMP_DIR) }) : undefined;
    const queue = await openQueue(config, catalogFile, (error) => logger.error(`ingest: the queue's Redis: ${error.message} (reconnecting)`));
    return new IngestService(queue, masters, variants, {
      data: config.data,
      catalogFile,
      images: config.images !== undefined && isS3Url(config.images) ? config.images : undefined,
      s3,
      stores,
      catalog: catalogLocation(config.data, config.catalog, config.catalogSchema),
      workers: config.ingestWorkers,
      // Page jobs may be queued by other processes (workers planning objects): nothing wakes this one then.
      pollMs: config.queue === undefined ? 1000 : 250,
      logger,
    });
  }

  /** Starts the worker (once the server is ready), unless its jobs are left to `vitrine worker` processes (0 workers). */
  async start(): Promise<void> {
    if (this.options.workers === 0) return;
    this.worker ??= await IngestWorker.start(this.queue, {
      masters: this.masters,
      data: this.options.data,
      catalogFile: this.options.catalogFile,
      images: this.options.images,
      s3: this.options.s3,
      catalog: this.options.catalog,
      settings: DEFAULT_SETTINGS,
      variants: this.variants,
      concurrency: this.options.workers,
      pollMs: this.options.pollMs,
      logger: this.options.logger,
    });
  }

  /** What a folder (normalised, relative to the masters root) is there: one to ingest, or why not. */
  lookUp(folder: string): Promise<FolderLookup> {
    return lookUpFolder(this.masters, folder, this.options.stores?.masters);
  }

  /**
   * Queues the ingest of an object folder (relative to the masters root; the folder watcher and the
   * API call this), or returns the job already queued or running for it, and wakes the worker.
   * Throws IngestPathError for a path that is absolute or leaves the root.
   */
  async enqueueFolder(relative: string): Promise<Job> {
    const normal = normaliseFolder(relative);
    if ('error' in normal) throw new IngestPathError(`${relative}: ${normal.error}`);
    // A variant folder (obj/master) is ingested as its object (obj): one job, one version per page.
    const job = await this.queue.enqueue(objectJob(objectFolderOf(normal.folder, this.variants)));
    this.enqueued();
    return job;
  }

  /** A job was queued: the worker looks now rather than at its next poll. */
  enqueued(): void {
    this.worker?.wake();
  }

  /** Finishes the jobs in hand (or hands them back after `graceMs`), then closes the queue. */
  async stop(graceMs?: number): Promise<void> {
    await this.worker?.stop(graceMs);
    await this.queue.close();
    this.options.stores?.close();
  }
}
