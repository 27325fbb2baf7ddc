import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { Catalog, IdentifierConflictError } from '../catalog/catalog.js';
import { VERSION } from '../version.js';
import { describeObjects } from './metadata/collect.js';
import { convertPage, DERIVATIVE_FORMATS, derivativeExtension, MasterError, settingsFingerprint, sha256Master, type ConversionSettings } from './convert.js';
import { renameDurably } from './durable.js';
import { PageLog, type PageOutcome } from './page-log.js';
import { pageDirectories } from './pages.js';
import { planConversion, type Anomaly, type PlannedObject, type PlannedPage } from './plan.js';
import type { NameRule } from './rules.js';
import { scanMasters, type IgnoredFile } from './scan.js';

export interface ConversionOptions {
  readonly masters: string;
  readonly out: string;
  readonly workers: number;
  readonly settings: ConversionSettings;
  readonly rules?: readonly NameRule[] | undefined;
  /** A batch CSV of descriptive metadata, one row per object (see docs/metadata.md). */
  readonly metadataCsv?: string | undefined;
  readonly dryRun: boolean;
  readonly onProgress?: ((progress: Progress) => void) | undefined;
}

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
  /**
   * Every page's outcome (converted, skipped, failed), one JSON line each, written as the pages
   * finish, then a `totals` line (absent in a dry run, which writes nothing).
   */
  readonly pages?: string | undefined;
  /** Where this summary was written (absent in a dry run). */
  readonly reportPath?: string | undefined;
}

export const CATALOG_FILE = 'catalog.sqlite';
export const IMAGES_DIR = 'images';
const TEMP_DIR = '.tmp';

/** Runs the items of an iterator through `worker` with at most `limit` in flight (none held in advance). */
async function pool<T>(items: Iterator<T>, limit: number, worker: (item: T) => Promise<void>): Promise<void> {
  const lanes = Array.from({ length: Math.max(1, limit) }, async () => {
    for (let item = items.next(); !item.done; item = items.next()) await worker(item.value);
  });
  await Promise.all(lanes);
}

/** Every page of the plan with its object and position, one at a time. */
function* jobsOf(objects: readonly PlannedObject[]): Generator<{ object: PlannedObject; page: PlannedPage; sequence: number }> {
  for (const object of objects) for (const [i, page] of object.pages.entries()) yield { object, page, sequence: i + 1 };
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
 * Whether a page's derivative is still right. Size and mtime unchanged: yes, without reading the
 * master. Only the mtime changed (a copy, a touch, a file system with coarser timestamps): the
 * checksum decides, and a match records the new mtime so the next run is fast again.
 */
async function isUpToDate(
  catalog: Catalog | undefined,
  source: PlannedPage['source'],
  page: PlannedPage,
  derivativePath: string,
  settingsKey: string,
  mayRecord: boolean,
): Promise<boolean> {
  const known = catalog?.page(source.absolutePath, page.sourcePage);
  if (!known || known.settings !== settingsKey || known.identifier !== page.identifier || known.sourceSize !== source.size) return false;
  if (known.derivativePath !== derivativePath || !existsSync(derivativePath)) return false;
  // Within a millisecond: what utimes, cp -p and most copy tools preserve (through a float in seconds).
  if (Math.abs(known.sourceMtimeMs - source.mtimeMs) < 1) return true;
  if ((await sha256Master(source.absolutePath)) !== known.sourceSha256) return false;
  if (mayRecord) catalog!.recordPage({ ...known, sourceMtimeMs: source.mtimeMs });
  return true;
}

/**
 * Removes a page's derivative in the other format (same name, other extension), once the current one
 * is recorded: a change of format (ptiff ↔ jp2) leaves one file per identifier. Only this page can
 * own that name: identifiers are unique, and the extension is not part of them.
 */
async function removeOtherFormats(derivativePath: string): Promise<void> {
  const current = path.extname(derivativePath);
  const stem = derivativePath.slice(0, -current.length);
  for (const format of DERIVATIVE_FORMATS) {
    const other = `${stem}${derivativeExtension(format)}`;
    if (other !== derivativePath) await rm(other, { force: true });
  }
}

/**
 * A whole batch: scan, plan, convert what changed (worker pool), record each page in the catalog as it
 * completes, write the report. Safe to kill at any moment and re-run: finished pages are skipped by
 * size, mtime and settings (no re-read), unfinished ones are converted again from scratch.
 */
export async function runConversion(options: ConversionOptions): Promise<ConversionReport> {
  const startedAt = new Date();
  const masters = path.resolve(options.masters);
  const out = path.resolve(options.out);
  const settingsKey = settingsFingerprint(options.settings);
  shareCores(options.workers);
  const catalogFile = path.join(out, CATALOG_FILE);
  let catalog: Catalog | undefined;
  if (!options.dryRun) {
    await mkdir(out, { recursive: true });
    // Whatever a killed run left half-written is only ever under .tmp: sweep it.
    await rm(path.join(out, TEMP_DIR), { recursive: true, force: true });
    await mkdir(path.join(out, TEMP_DIR), { recursive: true });
    catalog = new Catalog(catalogFile);
  } else if (existsSync(catalogFile)) {
    catalog = new Catalog(catalogFile, { readonly: true });
  }

  let plan;
  let descriptions;
  try {
    const scan = await scanMasters(masters);
    // Identifiers given by earlier runs are kept; new ones are recorded as they are given (not in a dry run).
    plan = await planConversion(scan, pageDirectories, {
      rules: options.rules,
      rootName: path.basename(masters),
      ledger: catalog,
      give: options.dryRun ? undefined : (pages) => catalog!.giveIdentifiers(pages),
    });
    // Sidecars and the CSV are read before anything is converted: an unreadable CSV stops the run here.
    descriptions = await describeObjects(masters, plan, options.metadataCsv);
  } catch (error) {
    catalog?.close();
    throw error;
  }
  const anomalies = [...plan.anomalies, ...descriptions.anomalies];

  const total = plan.objects.reduce((n, o) => n + o.pages.length, 0);
  // The JPEG 2000 encoder's threads per page: the cores shared among the pages encoded at once.
  const encoderThreads = Math.max(1, Math.floor(cpus().length / Math.max(1, Math.min(options.workers, total))));
  const extension = derivativeExtension(options.settings.format);
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  const log = options.dryRun ? undefined : await PageLog.create(path.join(out, 'reports', `convert-${stamp}.ndjson`));
  for (const file of plan.ignored) log?.write({ event: 'ignored', ...file });
  for (const anomaly of anomalies) log?.write({ event: 'anomaly', ...anomaly });
  const counts = { converted: 0, skipped: 0, failed: 0 };
  const failed: FailedPage[] = [];
  const failedKeys = new Set<string>();
  const finished = (outcome: PageOutcome): void => {
    counts[outcome.outcome]++;
    log?.write({ event: 'page', ...outcome });
    options.onProgress?.({
      total,
      done: counts.converted + counts.skipped + counts.failed,
      ...counts,
      startedAt: startedAt.getTime(),
      last: { source: outcome.source, outcome: outcome.outcome, reason: outcome.reason },
    });
  };
  options.onProgress?.({ total, done: 0, ...counts, startedAt: startedAt.getTime() });

  try {
    await pool(jobsOf(plan.objects), options.workers, async ({ object, page, sequence }) => {
      const source = page.source;
      const entry = { identifier: page.identifier, source: source.relativePath, page: page.sourcePage };
      const derivativePath = path.join(out, IMAGES_DIR, ...`${page.identifier}${extension}`.split('/'));
      try {
        if (await isUpToDate(catalog, source, page, derivativePath, settingsKey, !options.dryRun)) {
          // A run killed during a change of format may have recorded this page and died before removing its old file.
          if (!options.dryRun) await removeOtherFormats(derivativePath);
          finished({ outcome: 'skipped', ...entry });
          return;
        }
        if (options.dryRun) {
          finished({ outcome: 'converted', ...entry });
          return;
        }
        const [conversion, checksum] = await Promise.allSettled([
          convertPage(source.absolutePath, page.sourcePage, derivativePath, path.join(out, TEMP_DIR), options.settings, {
            threads: encoderThreads,
          }),
          sha256Master(source.absolutePath),
        ]);
        // Both read the master: when both fail, the system's reason (EIO, EACCES) says more than the decoder's.
        if (checksum.status === 'rejected') throw checksum.reason;
        if (conversion.status === 'rejected') throw conversion.reason;
        const size = conversion.value;
        const sha256 = checksum.value;
        catalog!.recordPage({
          objectId: object.id,
          sequence,
          identifier: page.identifier,
          sourcePath: source.absolutePath,
          sourcePage: page.sourcePage,
          sourceSize: source.size,
          sourceMtimeMs: source.mtimeMs,
          sourceSha256: sha256,
          settings: settingsKey,
          derivativePath,
          width: size.width,
          height: size.height,
          convertedAt: new Date().toISOString(),
        });
        await removeOtherFormats(derivativePath);
        finished({ outcome: 'converted', ...entry });
      } catch (error) {
        if (!(error instanceof MasterError) && !(error instanceof IdentifierConflictError) && (error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        const reason = (error as Error).message;
        failed.push({ source: source.relativePath, page: page.sourcePage, reason });
        failedKeys.add(`${page.sourcePage}\0${source.absolutePath}`);
        finished({ outcome: 'failed', ...entry, reason });
      }
    });

    // The order of each object's pages, now that every page is done (failed ones left out).
    if (catalog && !options.dryRun) {
      for (const object of plan.objects) {
        const pages = object.pages
          .filter((p) => !failedKeys.has(`${p.sourcePage}\0${p.source.absolutePath}`))
          .map((p) => ({ sourcePath: p.source.absolutePath, sourcePage: p.sourcePage }));
        catalog.setObjectPages(object, pages);
        // Every run, even when every page was skipped: an edited sidecar or CSV is picked up.
        const described = descriptions.objects.get(object.id);
        if (described) catalog.setObjectMetadata(object.id, described.metadata, described.sources);
      }
    }
  } catch (error) {
    log?.abort();
    throw error;
  } finally {
    catalog?.close();
  }

  const totals = {
    objects: plan.objects.length,
    pages: total,
    ...counts,
    ignored: plan.ignored.length,
    anomalies: anomalies.length,
  };
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
    ignored: plan.ignored,
    anomalies,
    pages: log?.file,
  };
  if (options.dryRun) return report;
  const reportPath = path.join(out, 'reports', `convert-${stamp}.json`);
  await mkdir(path.dirname(reportPath), { recursive: true });
  await writeFile(`${reportPath}.tmp`, JSON.stringify(report, null, 2));
  await renameDurably(`${reportPath}.tmp`, reportPath);
  return { ...report, reportPath };
}

export const DEFAULT_WORKERS = cpus().length;
