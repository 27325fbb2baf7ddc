import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import path from 'node:path';
import sharp from '../imaging/sharp.js';
import { FolderPolicies } from '../auth/folder-policies.js';
import { Catalog } from '../catalog/catalog.js';
import { catalogLocation, openCatalog } from '../catalog/open.js';
import type { CatalogStore } from '../catalog/store.js';
import { VERSION } from '../version.js';
import { settingsFingerprint, type ConversionSettings } from './convert.js';
import { renameDurably } from './durable.js';
import { BatchCollections } from './metadata/collections.js';
import { OcrIndexing } from './ocr.js';
import { TesseractOcr } from './tesseract.js';
import { SqliteSearchIndex } from '../search/sqlite-index.js';
import { PageLog, type PageOutcome } from './page-log.js';
import type { Anomaly, PlannedObject, PlannedPage } from './plan.js';
import { MasterChecksums } from './master-checksums.js';
import { convertAndRecord, derivativePathOf, IMAGES_DIR, isPageFailure, isUpToDate, pageKey, recordObject, type PageTarget } from './page-step.js';
import { planSteps, type PlanStep } from './plan-steps.js';
import type { NameRule } from './rules.js';
import { countMasterNames, type IgnoredFile } from './scan.js';
import type { SkippedVariant, VariantPreference } from './variants.js';
import { isS3Url } from '../storage/s3-location.js';
import type { S3ClientOptions } from '../storage/s3-storage.js';
import { LOCAL_STORES } from './stores.js';

export interface ConversionOptions {
  /** A folder of masters, or s3://bucket/prefix. */
  readonly masters: string;
  /** The output folder, or s3://bucket/prefix for the derivatives (then `data` holds the catalog). */
  readonly out: string;
  /** The local folder of the catalog, reports and temporary files: `out` itself when it is a folder; required when it is s3://. */
  readonly data?: string | undefined;
  /** The catalog, when not the local folder's SQLite file: another file, or postgres://… (`--catalog`). */
  readonly catalog?: string | undefined;
  /** The PostgreSQL schema of the catalog's tables (`--catalog-schema`). */
  readonly catalogSchema?: string | undefined;
  /** How to reach S3 when masters or out are s3:// (credentials: the SDK's standard chain). */
  readonly s3?: S3ClientOptions | undefined;
  readonly workers: number;
  readonly settings: ConversionSettings;
  readonly rules?: readonly NameRule[] | undefined;
  /** Which version of a page is converted when an object holds several (a rules file's `variants`; default DEFAULT_VARIANTS). */
  readonly variants?: VariantPreference | undefined;
  /** A batch CSV of descriptive metadata, one row per object (see docs/metadata.md). */
  readonly metadataCsv?: string | undefined;
  readonly dryRun: boolean;
  /**
   * Objects of the catalog whose folder is gone from the masters root: 'withdraw' (default) takes
   * them out (manifest 410, out of the collections, a Delete activity), 'withdraw-and-remove' also
   * deletes their derivatives, 'keep' leaves them published.
   */
  readonly missing?: MissingPolicy | undefined;
  /**
   * Tesseract reads the first page of masters without an OCR sidecar, in these languages (`eng`,
   * `eng+deu`); its hOCR is kept under OUT/ocr/ and indexed like a sidecar. Absent: sidecars only.
   */
  readonly tesseract?: { readonly lang: string } | undefined;
  readonly onProgress?: ((progress: Progress) => void) | undefined;
}

export type MissingPolicy = 'withdraw' | 'withdraw-and-remove' | 'keep';

export interface Progress {
  readonly total: number;
  readonly done: number;
  readonly converted: number;
  readonly skipped: number;
  readonly failed: number;
  readonly startedAt: number;
  /** The page just finished, if any. */
  readonly last?: { readonly source: string; readonly outcome: 'converted' | 'skipped' | 'failed'; readonly reason?: string } | undefined;
}

export interface FailedPage {
  readonly source: string;
  readonly page: number;
  readonly reason: string;
}

export interface ConversionReport {
  readonly tool: string;
  readonly dryRun: boolean;
  readonly masters: string;
  readonly out: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly settings: ConversionSettings;
  readonly totals: {
    readonly objects: number;
    readonly pages: number;
    readonly converted: number;
    readonly skipped: number;
    readonly failed: number;
    readonly ignored: number;
    readonly anomalies: number;
  };
  /** The pages that failed, with why (every page's outcome is in the `pages` NDJSON file). */
  readonly failed: FailedPage[];
  readonly ignored: IgnoredFile[];
  readonly anomalies: Anomaly[];
  /** Versions of pages not converted because a more preferred version of the page is (variants.ts). */
  readonly variantsSkipped: SkippedVariant[];
  /** Objects withdrawn because their folder is gone from the masters root (in a dry run: would be). */
  readonly withdrawn: string[];
  /**
   * Every page's outcome (converted, skipped, failed), one JSON line each, written as the pages
   * finish, then a `totals` line (absent in a dry run, which writes nothing).
   */
  readonly pages?: string | undefined;
  /** Where this summary was written (absent in a dry run). */
  readonly reportPath?: string | undefined;
  /** With Tesseract: its languages and how many pages it read this run (the others' kept hOCR was current). */
  readonly tesseract?: { readonly lang: string; readonly runs: number } | undefined;
}

export const CATALOG_FILE = 'catalog.sqlite';
export { IMAGES_DIR };
const TEMP_DIR = '.tmp';
/** Tesseract's hOCR of pages without a sidecar (convert --ocr tesseract). */
export const OCR_DIR = 'ocr';

/** Runs the items of an async iterator through `worker` with at most `limit` in flight (none fetched in advance). */
async function pool<T>(items: AsyncIterator<T>, limit: number, worker: (item: T) => Promise<void>): Promise<void> {
  const lanes = Array.from({ length: Math.max(1, limit) }, async () => {
    for (let item = await items.next(); !item.done; item = await items.next()) await worker(item.value);
  });
  await Promise.all(lanes);
}

/**
 * libvips threads per page: the cores shared among the workers. Not more for a lone page: on a
 * 108 MP master two threads wrote the pyramid slower than one (1.85 s vs 2.26 s; the pyramid is
 * built sequentially and extra threads only contend).
 */
function shareCores(workers: number): void {
  sharp.concurrency(Math.max(1, Math.floor(cpus().length / workers)));
}

/**
 * The catalog's objects whose folder is gone from this masters root: not found by this run, with
 * pages whose every master was under this root and no longer exists. An object whose masters are
 * elsewhere (another batch converted into the same folder, or a masters folder that moved: its
 * objects are found under the new root and keep their ids) is never one of them, and a run that
 * found nothing at all (an empty or unmounted masters folder) withdraws nothing.
 */
async function missingObjects(catalog: CatalogStore, masters: string, planned: ReadonlySet<string>): Promise<string[]> {
  if (planned.size === 0) return [];
  const prefix = `${masters.replace(/\/+$/, '')}/`;
  const missing: string[] = [];
  for (const object of await catalog.objects()) {
    if (planned.has(object.id)) continue;
    const pages = await catalog.pages(object.id);
    if (pages.length > 0 && pages.every((p) => p.sourcePath.startsWith(prefix) && !existsSync(p.sourcePath))) missing.push(object.id);
  }
  return missing;
}

/**
 * A whole batch: scan, plan, convert what changed (worker pool), record each page in the catalog as it
 * completes, write the report. Safe to kill at any moment and re-run: finished pages are skipped by
 * size, mtime and settings (no re-read), unfinished ones are converted again from scratch.
 */
export async function runConversion(options: ConversionOptions): Promise<ConversionReport> {
  const startedAt = new Date();
  const masters = isS3Url(options.masters) ? options.masters.replace(/\/+$/, '') : path.resolve(options.masters);
  const out = isS3Url(options.out) ? options.out.replace(/\/+$/, '') : path.resolve(options.out);
  if (isS3Url(out) && options.data === undefined) throw new Error('out: an s3:// output needs a local data folder for the catalog and reports');
  // The local side of the output: catalog, reports, temporary files (and derivatives, unless they go to S3).
  const local = options.data !== undefined ? path.resolve(options.data) : out;
  const settingsKey = settingsFingerprint(options.settings);
  shareCores(options.workers);
  const catalogFile = path.join(local, CATALOG_FILE);
  const location = catalogLocation(local, options.catalog, options.catalogSchema);
  let catalog: CatalogStore | undefined;
  // The OCR sidecars' text, indexed as pages complete, in tables of its own in the catalog file.
  let ocr: OcrIndexing | undefined;
  if (!options.dryRun) {
    await mkdir(local, { recursive: true });
    // Whatever a killed run left half-written is only ever under .tmp (downloads and staged uploads too): sweep it.
    await rm(path.join(local, TEMP_DIR), { recursive: true, force: true });
    await mkdir(path.join(local, TEMP_DIR), { recursive: true });
    catalog = await openCatalog(location);
    await catalog.adoptPublishedIdentifiers(masters);
    const tesseract = options.tesseract ? new TesseractOcr(path.join(local, OCR_DIR), path.join(local, TEMP_DIR), options.tesseract.lang) : undefined;
    ocr = new OcrIndexing(new SqliteSearchIndex(catalogFile), tesseract);
  } else if (location.kind === 'postgres') {
    catalog = await openCatalog(location);
  } else if (existsSync(location.file)) {
    catalog = new Catalog(location.file, { readonly: true });
  }

  // The AWS SDK is loaded only for a run that reaches S3: it costs a local batch ~0.2 s of CPU at start-up.
  const stores =
    isS3Url(masters) || isS3Url(out)
      ? (await import('./s3-stores.js')).openPageStores(masters, out, { ...options.s3, tempDir: path.join(local, TEMP_DIR) })
      : LOCAL_STORES;
  const steps = planSteps(masters, {
    store: stores.masters,
    rules: options.rules,
    variants: options.variants,
    metadataCsv: options.metadataCsv,
    rootName: path.posix.basename(masters),
    // Identifiers given by earlier runs are kept; new ones are recorded as they are given (not in a dry run).
    ledger: await catalog?.identifierLedger(),
    give: options.dryRun ? undefined : (pages) => catalog!.giveIdentifiers(pages),
  });
  let first: IteratorResult<PlanStep>;
  let estimate: number;
  try {
    // The first step reads a batch CSV, if any: an unreadable one stops the run before anything is written.
    first = await steps.next();
    // The size of the batch before it is all planned, for the progress: one page per master file
    // (not for S3: listing a bucket twice costs; the total grows as objects are planned).
    estimate = isS3Url(masters) ? 0 : await countMasterNames(masters);
  } catch (error) {
    await catalog?.close();
    ocr?.close();
    stores.close();
    throw error;
  }

  // The JPEG 2000 encoder's threads per page: the cores shared among the pages encoded at once.
  const encoderThreads = Math.max(1, Math.floor(cpus().length / Math.max(1, Math.min(options.workers, estimate))));
  const anomalies: Anomaly[] = [];
  const checksums = new MasterChecksums();
  const target: PageTarget = {
    out,
    tempDir: path.join(local, TEMP_DIR),
    stores,
    settings: options.settings,
    settingsKey,
    encoderThreads,
    checksums,
    ocr,
    onOcrProblem: (object, detail) => {
      const anomaly: Anomaly = { object, kind: 'ocr', detail };
      anomalies.push(anomaly);
      log?.write({ event: 'anomaly', ...anomaly });
    },
  };
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  const log = options.dryRun ? undefined : await PageLog.create(path.join(local, 'reports', `convert-${stamp}.ndjson`));
  const counts = { objects: 0, pages: 0, converted: 0, skipped: 0, failed: 0 };
  // Problems are kept for the summary (the per-page outcomes only go to the log).
  const failed: FailedPage[] = [];
  const ignored: IgnoredFile[] = [];
  const variantsSkipped: SkippedVariant[] = [];
  // The objects this run found, and those it withdrew because their folder is gone.
  const planned = new Set<string>();
  const withdrawn: string[] = [];
  const progress = (last?: Progress['last']): void =>
    options.onProgress?.({
      total: Math.max(estimate, counts.pages),
      done: counts.converted + counts.skipped + counts.failed,
      converted: counts.converted,
      skipped: counts.skipped,
      failed: counts.failed,
      startedAt: startedAt.getTime(),
      last,
    });
  const finished = (outcome: PageOutcome): void => {
    counts[outcome.outcome]++;
    log?.write({ event: 'page', ...outcome });
    progress({ source: outcome.source, outcome: outcome.outcome, reason: outcome.reason });
  };
  progress();
  // What collection.yml files say, read as the plan reaches them; applied once every object is planned.
  const collections = new BatchCollections(stores.masters.sidecarRoot ?? masters);
  // What access.yml files say, read as the plan reaches their folders (before the objects below them).
  const policies = new FolderPolicies(stores.masters.sidecarRoot ?? masters);

  /** An object whose pages are under way: recorded whole (order, metadata) when its last page is done. */
  interface ObjectInProgress {
    readonly object: PlannedObject;
    readonly described: PlanStep['described'];
    remaining: number;
    readonly failedKeys: Set<string>;
  }
  const complete = async (current: ObjectInProgress): Promise<void> => {
    if (catalog && !options.dryRun) await recordObject(catalog, current.object, current.failedKeys, current.described, ocr);
  };
  async function* jobs(): AsyncGenerator<{ current: ObjectInProgress; page: PlannedPage; sequence: number }> {
    for (let step = first; !step.done; step = await steps.next()) {
      const { object, described } = step.value;
      for (const file of step.value.ignored) log?.write({ event: 'ignored', ...file });
      for (const anomaly of step.value.anomalies) log?.write({ event: 'anomaly', ...anomaly });
      for (const variant of step.value.variantsSkipped) log?.write({ event: 'variant-skipped', ...variant });
      ignored.push(...step.value.ignored);
      anomalies.push(...step.value.anomalies);
      variantsSkipped.push(...step.value.variantsSkipped);
      // The estimate counted every variant's file; only one per page is converted.
      estimate -= step.value.variantsSkipped.length;
      // Before the step's object: a folder's collection.yml may name the object of that same folder.
      await collections.addFiles(step.value.ignored);
      const known = policies.anomalies.length;
      await policies.addFiles(step.value.ignored);
      for (const anomaly of policies.anomalies.slice(known)) {
        log?.write({ event: 'anomaly', ...anomaly });
        anomalies.push(anomaly);
      }
      if (!object) continue;
      // Before any of its pages is converted (each is served once recorded), and every run: a
      // changed access.yml reaches a running server without re-converting a page.
      if (catalog && !options.dryRun) {
        const access = policies.policyOf(object.folder, described?.policy);
        await catalog.setObjectAccess(object.id, access.policy, access.sources);
      }
      collections.addObject(object);
      planned.add(object.id);
      counts.objects++;
      counts.pages += object.pages.length;
      const current: ObjectInProgress = { object, described, remaining: object.pages.length, failedKeys: new Set() };
      if (current.remaining === 0) await complete(current);
      for (const [i, page] of object.pages.entries()) yield { current, page, sequence: i + 1 };
    }
  }

  try {
    await pool(jobs(), options.workers, async ({ current, page, sequence }) => {
      const object = current.object;
      const source = page.source;
      const entry = { identifier: page.identifier, source: source.relativePath, page: page.sourcePage };
      try {
        if (options.dryRun) {
          const upToDate = await isUpToDate(catalog, source, page, derivativePathOf(out, page.identifier, options.settings), settingsKey, false, stores, checksums);
          finished({ outcome: upToDate ? 'skipped' : 'converted', ...entry });
        } else {
          finished({ outcome: await convertAndRecord(catalog!, target, object.id, page, sequence), ...entry });
        }
      } catch (error) {
        if (!isPageFailure(error)) throw error;
        const reason = error.message;
        failed.push({ source: source.relativePath, page: page.sourcePage, reason });
        current.failedKeys.add(pageKey({ sourcePath: source.absolutePath, sourcePage: page.sourcePage }));
        finished({ outcome: 'failed', ...entry, reason });
      }
      // The object's page order, now that its every page is done (failed ones left out).
      if (--current.remaining === 0) await complete(current);
    });
    const described = collections.describe();
    for (const anomaly of described.anomalies) log?.write({ event: 'anomaly', ...anomaly });
    anomalies.push(...described.anomalies);
    if (catalog && !options.dryRun) await catalog.setCollectionMetadata(described.covered, described.collections);
    if (catalog && (options.missing ?? 'withdraw') !== 'keep') {
      for (const id of await missingObjects(catalog, masters, planned)) {
        if (!options.dryRun) {
          await catalog.withdrawObject(id, { removeDerivatives: options.missing === 'withdraw-and-remove' });
          ocr?.withdraw(id);
        }
        log?.write({ event: 'withdrawn', object: id });
        withdrawn.push(id);
      }
    }
  } catch (error) {
    log?.abort();
    throw error;
  } finally {
    await catalog?.close();
    ocr?.close();
    stores.close();
  }

  const totals = { ...counts, ignored: ignored.length, anomalies: anomalies.length };
  await log?.finish(totals);
  const report: Omit<ConversionReport, 'reportPath'> = {
    tool: `vitrine ${VERSION} convert`,
    dryRun: options.dryRun,
    masters,
    out,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    settings: options.settings,
    totals,
    failed,
    ignored,
    anomalies,
    variantsSkipped,
    withdrawn,
    pages: log?.file,
    ...(ocr?.tesseract ? { tesseract: { lang: ocr.tesseract.lang, runs: ocr.tesseract.runs } } : {}),
  };
  if (options.dryRun) return report;
  const reportPath = path.join(local, 'reports', `convert-${stamp}.json`);
  await mkdir(path.dirname(reportPath), { recursive: true });
  await writeFile(`${reportPath}.tmp`, JSON.stringify(report, null, 2));
  await renameDurably(`${reportPath}.tmp`, reportPath);
  return { ...report, reportPath };
}

export const DEFAULT_WORKERS = cpus().length;
