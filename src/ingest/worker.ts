import { randomUUID } from 'node:crypto';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { cpus, hostname } from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';
import { openCatalog, type CatalogLocation } from '../catalog/open.js';
import type { CatalogStore } from '../catalog/store.js';
import type { ConversionSettings } from '../pipeline/convert.js';
import { LOCAL_STORES, type PageStores } from '../pipeline/stores.js';
import { isS3Url } from '../storage/s3-location.js';
import type { S3ClientOptions } from '../storage/s3-storage.js';
import { settingsFingerprint } from '../pipeline/convert.js';
import { OcrIndexing } from '../pipeline/ocr.js';
import { isPageFailure } from '../pipeline/page-step.js';
import { SqliteSearchIndex } from '../search/sqlite-index.js';
import type { VariantPreference } from '../pipeline/variants.js';
import { INGEST_TEMP_DIR, type IngestContext } from './context.js';
import { FINISHED_STATES, JobStateError, type Job, type PageJobData } from './jobs.js';
import { runObjectTurn } from './object-job.js';
import { runPageJob } from './page-job.js';
import { MasterChecksums } from '../pipeline/master-checksums.js';
import type { JobQueue } from './queue.js';

export interface IngestWorkerOptions {
  /** The masters root: a folder, or an s3:// prefix. */
  readonly masters: string;
  /** The data folder (catalog.sqlite, temporary files; images/ unless `images` is given). */
  readonly data: string;
  /** An s3:// prefix the derivatives are uploaded under (absent: the data folder's images/). */
  readonly images?: string | undefined;
  /** How S3 is reached, when the masters or the images are there. */
  readonly s3?: S3ClientOptions | undefined;
  readonly catalogFile: string;
  /** The catalog, when not `catalogFile` (a PostgreSQL server); the search index stays in `catalogFile`. */
  readonly catalog?: CatalogLocation | undefined;
  readonly settings: ConversionSettings;
  /** Which version of a page is converted (a rules file's variants; absent: the default). */
  readonly variants?: VariantPreference | undefined;
  /** Jobs run at once (default 1). */
  readonly concurrency?: number | undefined;
  /** How long a claimed job is held without a heartbeat (default 30 s); heartbeats come every third of it. */
  readonly leaseMs?: number | undefined;
  /** How often an idle worker looks for work (default 1 s; an enqueue in this process wakes it at once). */
  readonly pollMs?: number | undefined;
  readonly logger: Logger;
}

/** This process's worker ids: host, pid and a nonce (a container's pid 1 is not the last one's). */
const PROCESS_ID = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;

/**
 * This process's temporary folder under the data folder's INGEST_TEMP_DIR: each process has its own,
 * so a worker starting never sweeps what another (on this host or another sharing the folder) is
 * writing. Its name is the process id with '_' for ':' (a name valid on every file system).
 */
const PROCESS_TEMP = PROCESS_ID.replace(/:/g, '_');

/** A masters root or images location as the catalog records its paths: an absolute path, or an s3:// URL without a trailing '/'. */
export const mastersRoot = (given: string): string => (isS3Url(given) ? given.replace(/\/+$/, '') : path.resolve(given));

/** Whether a worker id names a process of this host that is gone (its jobs can be taken back at once). */
export function isDeadLocalWorker(worker: string): boolean {
  const [host, pid, nonce] = worker.split(':');
  if (host !== hostname() || pid === undefined || nonce === undefined) return false;
  if (`${host}:${pid}:${nonce}` === PROCESS_ID) return false;
  if (Number(pid) === process.pid) return true; // same pid, another nonce: an earlier process
  try {
    process.kill(Number(pid), 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * The in-process ingest worker of `vitrine serve`: lanes that claim jobs from the queue, run them
 * (plan an object, convert a page, record the object) and report back, holding each job under a
 * lease renewed by heartbeats. Stopping finishes the jobs in hand, or hands them back when they
 * take longer than the grace period.
 */
export class IngestWorker {
  private readonly context: IngestContext;
  private readonly concurrency: number;
  private readonly leaseMs: number;
  private readonly pollMs: number;
  private readonly logger: Logger;
  private readonly stores: PageStores;
  private stopping = false;
  private lanes: Promise<void>[] = [];
  private readonly sleepers = new Set<() => void>();
  /** Jobs in hand, by id, with the lane's worker id. */
  private readonly inHand = new Map<string, string>();

  private constructor(
    private readonly queue: JobQueue,
    options: IngestWorkerOptions,
    private readonly catalog: CatalogStore,
    /** The masters root, where derivatives go (the data folder, or an s3:// prefix), this process's temporary folder, and the stores of both. */
    places: { readonly masters: string; readonly out: string; readonly tempDir: string; readonly stores: PageStores },
  ) {
    this.concurrency = Math.max(1, options.concurrency ?? 1);
    this.leaseMs = options.leaseMs ?? 30_000;
    this.pollMs = options.pollMs ?? 1000;
    this.logger = options.logger;
    this.stores = places.stores;
    this.context = {
      masters: places.masters,
      catalog,
      variants: options.variants,
      target: {
        out: places.out,
        // Downloaded masters and staged uploads too: what a killed worker leaves is swept from here.
        tempDir: places.tempDir,
        stores: places.stores,
        settings: options.settings,
        settingsKey: settingsFingerprint(options.settings),
        encoderThreads: Math.max(1, Math.floor(cpus().length / this.concurrency)),
        // The pages of a multi-page master, each its own job, share one read of it for its checksum.
        checksums: new MasterChecksums(),
        // Pages' OCR sidecars are indexed as `vitrine convert` indexes them (an unreadable one is logged).
        ocr: new OcrIndexing(new SqliteSearchIndex(options.catalogFile)),
        onOcrProblem: (objectId, detail) => this.logger.warn(`ingest: ${objectId}: OCR sidecar not indexed: ${detail}`),
      },
    };
  }

  /**
   * Starts the lanes, after sweeping what a killed worker left in the temporary folder and taking
   * back at once the jobs of this host's dead processes (others' come back when their lease ends).
   */
  static async start(queue: JobQueue, options: IngestWorkerOptions): Promise<IngestWorker> {
    const masters = mastersRoot(options.masters);
    const out = options.images === undefined ? path.resolve(options.data) : mastersRoot(options.images);
    const tempDir = path.join(path.resolve(options.data), INGEST_TEMP_DIR, PROCESS_TEMP);
    // The AWS SDK is loaded only when S3 is reached (as convert does). Sidecars read in S3 are
    // copied under the temporary folder too, swept with it when this process is gone.
    const stores =
      isS3Url(masters) || isS3Url(out)
        ? (await import('../pipeline/s3-stores.js')).openPageStores(masters, out, { ...options.s3, tempDir, sidecarDir: path.join(tempDir, 'sidecars') })
        : LOCAL_STORES;
    const catalog = await openCatalog(options.catalog ?? { kind: 'sqlite', file: options.catalogFile });
    await catalog.adoptPublishedIdentifiers(masters);
    const worker = new IngestWorker(queue, options, catalog, { masters, out, tempDir, stores });
    await rm(worker.context.target.tempDir, { recursive: true, force: true });
    await worker.sweepTemporaries();
    await mkdir(worker.context.target.tempDir, { recursive: true });
    const recovered = await queue.recover(isDeadLocalWorker);
    if (recovered > 0) worker.logger.info(`ingest: took back ${recovered} job(s) of a stopped process`);
    worker.lanes = Array.from({ length: worker.concurrency }, (_, lane) => worker.lane(`${PROCESS_ID}:${lane}`));
    return worker;
  }

  /**
   * Removes what stopped processes of this host left half-written in the temporary folder: their
   * folders, and the loose files of the layout before one folder per process. Another host's
   * folders are its own workers' to sweep when they start (their processes cannot be seen from here).
   */
  private async sweepTemporaries(): Promise<void> {
    const root = path.dirname(this.context.target.tempDir);
    const entries = await readdir(root, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      if (entry.name === PROCESS_TEMP) continue; // this process's lanes write there now
      const folder = /^(.+)_(\d+)_([0-9a-f]{8})$/.exec(entry.name);
      const owner = entry.isDirectory() && folder ? `${folder[1]}:${folder[2]}:${folder[3]}` : `${hostname()}:${entry.name.split('-')[0]}:loose`;
      if (isDeadLocalWorker(owner)) await rm(path.join(root, entry.name), { recursive: true, force: true });
    }
  }

  /** The last sweep, so that jobs taken back from stopped workers sweep at most every few seconds. */
  private lastSweep = 0;

  /** Looks for work now (a job was just enqueued in this process). */
  wake(): void {
    for (const wake of [...this.sleepers]) wake();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.sleepers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.sleepers.add(done);
    });
  }

  private async lane(worker: string): Promise<void> {
    while (!this.stopping) {
      let job: Job | undefined;
      try {
        job = await this.queue.claim(worker, this.leaseMs);
      } catch (error) {
        this.logger.error({ err: error }, 'ingest: cannot claim a job');
      }
      if (!job) {
        await this.sleep(this.pollMs);
        continue;
      }
      this.inHand.set(job.id, worker);
      // A job run again was often another worker's that stopped: what it left half-written goes.
      if (job.attempts > 1 && Date.now() - this.lastSweep > 5000) {
        this.lastSweep = Date.now();
        await this.sweepTemporaries().catch((error: unknown) => this.logger.warn({ err: error }, 'ingest: cannot sweep the temporary folder'));
      }
      try {
        await this.run(job, worker);
      } catch (error) {
        // After a stop, the queue may be closed under a job that outlived the grace period: it was handed back.
        if (!this.stopping) this.logger.error({ err: error }, `ingest: job ${job.id} could not report back`);
      } finally {
        this.inHand.delete(job.id);
      }
    }
  }

  private async run(job: Job, worker: string): Promise<void> {
    const heartbeat = setInterval(() => {
      void this.queue.heartbeat(job.id, worker, this.leaseMs).catch(() => undefined);
    }, Math.max(50, this.leaseMs / 3));
    try {
      if (job.data.kind === 'page') {
        const data: PageJobData = job.data;
        let outcome: 'converted' | 'skipped';
        try {
          outcome = await runPageJob(this.context, data);
        } catch (error) {
          // A broken master fails at once (trying again reads the same bytes); anything else is retried.
          const permanent = isPageFailure(error);
          const reason = permanent ? `${data.source}${data.sourcePage > 0 ? ` (page ${data.sourcePage + 1})` : ''}: ${error.message}` : (error as Error).message;
          const failed = await this.queue.fail(job.id, worker, reason, { retryable: !permanent });
          this.logger.warn(`ingest: page ${data.identifier} ${failed?.state === 'queued' ? 'will be retried' : 'failed'}: ${reason}`);
          return;
        }
        await this.queue.complete(job.id, worker, { outcome });
        this.logger.debug(`ingest: page ${data.identifier} ${outcome}`);
        return;
      }
      let turn;
      try {
        turn = await runObjectTurn(this.queue, this.context, job);
      } catch (error) {
        await this.queue.fail(job.id, worker, (error as Error).message, { retryable: true });
        this.logger.warn(`ingest: object folder ${job.data.folder}: ${(error as Error).message}`);
        return;
      }
      if (turn.kind === 'wait') {
        if (await this.queue.waitForChildren(job.id, worker, turn.data, { objectId: turn.objectId, pages: turn.pages })) this.wake();
        else if ((await this.queue.get(job.id))?.state === 'cancelled') await this.cancelChildren(job.id);
      } else if (turn.kind === 'done') {
        await this.queue.complete(job.id, worker, { objectId: turn.objectId, pages: turn.pages + turn.failed, pagesDone: turn.pages, pagesFailed: turn.failed });
        this.logger.info(`ingest: object ${turn.objectId} recorded: ${turn.pages} page(s)${turn.failed ? `, ${turn.failed} failed` : ''}`);
      } else {
        await this.queue.fail(job.id, worker, turn.reason, { retryable: false });
        this.logger.warn(`ingest: object folder ${job.data.folder} failed: ${turn.reason}`);
      }
    } finally {
      clearInterval(heartbeat);
    }
  }

  /** An object job cancelled while it planned: the page jobs it queued meanwhile are cancelled too. */
  private async cancelChildren(id: string): Promise<void> {
    for (const child of await this.queue.children(id)) {
      if (FINISHED_STATES.includes(child.state)) continue;
      await this.queue.cancel(child.id).catch((error: unknown) => {
        if (!(error instanceof JobStateError)) throw error;
      });
    }
  }

  /**
   * Stops taking jobs and lets the ones in hand finish for `graceMs`; those still running then are
   * handed back to the queue (queued again, the attempt not counted) for the next worker.
   */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.wake();
    const lanes = Promise.all(this.lanes);
    let timer: NodeJS.Timeout | undefined;
    const finished = await Promise.race([lanes.then(() => true), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), graceMs)))]);
    clearTimeout(timer);
    if (!finished) {
      for (const [id, worker] of this.inHand) {
        if (await this.queue.release(id, worker).catch(() => false)) this.logger.info(`ingest: job ${id} handed back for the next start`);
      }
    } else {
      this.context.target.ocr?.close();
      await this.catalog.close();
      this.stores.close();
      await rm(this.context.target.tempDir, { recursive: true, force: true });
    }
  }
}
