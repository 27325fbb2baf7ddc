import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { isS3Url } from '../storage/s3-location.js';
import path from 'node:path';
import { IdentifierConflictError } from '../catalog/catalog.js';
import type { CatalogStore } from '../catalog/store.js';
import { convertPage, DERIVATIVE_FORMATS, derivativeExtension, MasterError, type ConversionSettings } from './convert.js';
import { MasterChecksums } from './master-checksums.js';
import type { DescribedObject } from './metadata/collect.js';
import type { OcrIndexing } from './ocr.js';
import type { PlannedObject, PlannedPage } from './plan.js';
import { LOCAL_STORES, type PageStores } from './stores.js';

/**
 * The steps of a conversion that both a whole batch (run.ts) and the ingest service (one object,
 * one page at a time, from a job queue) take: whether a page is up to date, converting and
 * recording it, and recording an object whole once its pages are done.
 */

export const IMAGES_DIR = 'images';

/**
 * Where a page's derivative goes: under the output folder's images/, or right under an s3:// output
 * prefix (`s3://bucket/derivatives/<identifier>.tif`, what `serve --images s3://bucket/derivatives` serves).
 */
export function derivativePathOf(out: string, identifier: string, settings: ConversionSettings): string {
  const name = `${identifier}${derivativeExtension(settings.format)}`;
  if (isS3Url(out)) return `${out.replace(/\/+$/, '')}/${name}`;
  return path.join(out, IMAGES_DIR, ...name.split('/'));
}

/**
 * Whether a page's derivative is still right. Size and mtime unchanged: yes, without reading the
 * master. Only the mtime changed (a copy, a touch, a file system with coarser timestamps): the
 * checksum decides, and a match records the new mtime so the next run is fast again.
 */
export async function isUpToDate(
  catalog: CatalogStore | undefined,
  source: PlannedPage['source'],
  page: PlannedPage,
  derivativePath: string,
  settingsKey: string,
  mayRecord: boolean,
  stores: PageStores = LOCAL_STORES,
  checksums: MasterChecksums = new MasterChecksums(),
): Promise<boolean> {
  const known = await catalog?.page(source.absolutePath, page.sourcePage);
  if (!known || known.settings !== settingsKey || known.identifier !== page.identifier || known.sourceSize !== source.size) return false;
  // In S3: the object is there and stamped with this master's checksum.
  if (known.derivativePath !== derivativePath || !(await stores.derivatives.there(derivativePath, known.sourceSha256))) return false;
  // Within a millisecond: what utimes, cp -p and most copy tools preserve (through a float in seconds).
  if (Math.abs(known.sourceMtimeMs - source.mtimeMs) < 1) return true;
  const master = await stores.masters.local(source);
  try {
    if ((await checksums.of(source, master.path)) !== known.sourceSha256) return false;
  } finally {
    await master.release();
  }
  if (mayRecord) await catalog!.recordPage({ ...known, sourceMtimeMs: source.mtimeMs });
  return true;
}

/**
 * Removes a page's derivative in the other format (same name, other extension), once the current one
 * is recorded: a change of format (ptiff ↔ jp2) leaves one file per identifier. Only this page can
 * own that name: identifiers are unique, and the extension is not part of them.
 */
export async function removeOtherFormats(derivativePath: string, stores: PageStores = LOCAL_STORES): Promise<void> {
  const current = path.extname(derivativePath);
  const stem = derivativePath.slice(0, -current.length);
  for (const format of DERIVATIVE_FORMATS) {
    const other = `${stem}${derivativeExtension(format)}`;
    if (other !== derivativePath) await stores.derivatives.remove(other);
  }
}

/** Where and how pages are converted: the output folder, its temporary folder, the settings. */
export interface PageTarget {
  readonly out: string;
  /** On the output folder's file system (renames into images/ are atomic). */
  readonly tempDir: string;
  readonly settings: ConversionSettings;
  /** settingsFingerprint(settings). */
  readonly settingsKey: string;
  /** The JPEG 2000 encoder's threads per page. */
  readonly encoderThreads: number;
  /** Where masters are read and derivatives put (absent: local folders). */
  readonly stores?: PageStores | undefined;
  /** Checksums of the masters, each read once for all its pages (absent: read for each page). */
  readonly checksums?: MasterChecksums | undefined;
  /** The search index kept in step with each page's OCR sidecar, if the run keeps one. */
  readonly ocr?: OcrIndexing | undefined;
  /** Told why a page's OCR sidecar could not be read (the page itself is converted all the same). */
  readonly onOcrProblem?: ((objectId: string, detail: string) => void) | undefined;
}

/** Brings a recorded page's text in line with its sidecar, against its canvas (the derivative's size). */
async function indexText(target: PageTarget, objectId: string, page: PlannedPage, canvas: { width: number; height: number }): Promise<void> {
  const problem = await target.ocr?.sync(objectId, page, canvas);
  if (problem !== undefined) target.onOcrProblem?.(objectId, problem);
}

/**
 * Converts one page unless it is up to date, and records it in the catalog (one row, committed
 * at once: a page is recorded whole or not at all). Throws what isPageFailure recognises for a
 * page that cannot be converted (a broken master), anything else for a failure of the run.
 */
export async function convertAndRecord(
  catalog: CatalogStore,
  target: PageTarget,
  objectId: string,
  page: PlannedPage,
  sequence: number,
): Promise<'converted' | 'skipped'> {
  const source = page.source;
  const stores = target.stores ?? LOCAL_STORES;
  const derivativePath = derivativePathOf(target.out, page.identifier, target.settings);
  const checksums = target.checksums ?? new MasterChecksums();
  if (await isUpToDate(catalog, source, page, derivativePath, target.settingsKey, true, stores, checksums)) {
    // A run killed during a change of format may have recorded this page and died before removing its old file.
    await removeOtherFormats(derivativePath, stores);
    const known = await catalog.page(source.absolutePath, page.sourcePage);
    // An edited sidecar is read again even when the image is unchanged.
    if (known) await indexText(target, objectId, page, known);
    return 'skipped';
  }
  // A master in S3 is downloaded for this page; the derivative is staged locally when it goes to S3.
  const master = await stores.masters.local(source);
  const staging = stores.derivatives.staging(derivativePath, target.tempDir);
  let conversion: PromiseSettledResult<{ width: number; height: number }>;
  let checksum: PromiseSettledResult<string>;
  try {
    [conversion, checksum] = await Promise.allSettled([
      convertPage(master.path, page.sourcePage, staging, target.tempDir, target.settings, { threads: target.encoderThreads }),
      checksums.of(source, master.path),
    ]);
  } finally {
    await master.release();
  }
  // Both read the master: when both fail, the system's reason (EIO, EACCES) says more than the decoder's.
  if (checksum.status === 'rejected') throw checksum.reason;
  if (conversion.status === 'rejected') throw conversion.reason;
  await stores.derivatives.publish(staging, derivativePath, checksum.value);
  // The identifier's earlier record names a master that is gone (the masters folder moved): this is its page now.
  const owner = await catalog.pageByIdentifier(page.identifier);
  if (owner && owner.sourcePath !== source.absolutePath && !existsSync(owner.sourcePath)) await catalog.removePage(owner.sourcePath, owner.sourcePage);
  await catalog.recordPage({
    objectId,
    sequence,
    identifier: page.identifier,
    sourcePath: source.absolutePath,
    sourcePage: page.sourcePage,
    sourceSize: source.size,
    sourceMtimeMs: source.mtimeMs,
    sourceSha256: checksum.value,
    settings: target.settingsKey,
    derivativePath,
    width: conversion.value.width,
    height: conversion.value.height,
    convertedAt: new Date().toISOString(),
  });
  await removeOtherFormats(derivativePath, stores);
  await indexText(target, objectId, page, conversion.value);
  return 'converted';
}

/** Whether an error is one page's failure (its master), not the run's: a broken master, a taken identifier, a master gone. */
export function isPageFailure(error: unknown): error is Error {
  return error instanceof MasterError || error instanceof IdentifierConflictError || (error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

/** A page's key among an object's pages: its master and the directory in it. */
export const pageKey = (page: { readonly sourcePath: string; readonly sourcePage: number }): string => `${page.sourcePage}\0${page.sourcePath}`;

/**
 * Records an object whole once its pages are done: its page order (the failed ones left out, as
 * are pages of masters gone), and its descriptive metadata (every time, so an edited sidecar applies).
 */
export async function recordObject(
  catalog: CatalogStore,
  object: PlannedObject,
  failedKeys: ReadonlySet<string>,
  described: DescribedObject | undefined,
  ocr?: OcrIndexing,
): Promise<void> {
  const kept = object.pages.filter((p) => !failedKeys.has(pageKey({ sourcePath: p.source.absolutePath, sourcePage: p.sourcePage })));
  // One transaction, so pages and description changed together make one Update activity.
  await catalog.recordObject(
    object,
    kept.map((p) => ({ sourcePath: p.source.absolutePath, sourcePage: p.sourcePage })),
    described,
  );
  // The text of pages no longer in the object goes.
  ocr?.complete(object.id, kept.map((p) => p.identifier));
}
