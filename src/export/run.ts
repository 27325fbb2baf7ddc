import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { AccessDeniedError } from '../auth/degrade.js';
import { ANONYMOUS } from '../auth/gate.js';
import type { PageRecord } from '../catalog/catalog.js';
import { catalogLocation, openCatalogForReading, openCatalogSource } from '../catalog/open.js';
import { loadServeConfig } from '../config/load.js';
import type { ApiVersion, Dimensions } from '../image-api/request.js';
import { describeSource } from '../imaging/describe.js';
import type { Progress } from '../pipeline/run.js';
import { exportManifests } from '../presentation/export.js';
import { CATALOG_FILE } from '../presentation/store.js';
import { ImageService } from '../server/image-service.js';
import { encodedAlias, exists, imageDir, linkAlias, writeAtomically } from './files.js';
import { level0Info } from './info.js';
import { exportPdfs, type PdfExportReport } from './pdf.js';
import { SqliteSearchIndex } from '../search/sqlite-index.js';

/** Longest side of the pages of the copy's PDFs by default, as the server's --pdf-size. */
export const DEFAULT_PDF_SIZE = 1500;
import { level0Layout } from './level0.js';
import { renderRequest, requestKey, requestOf } from './render.js';

export interface StaticExportOptions {
  /** Output folder of `vitrine convert` (its catalog.sqlite and images/). */
  readonly data: string;
  /** The catalog when it is not the data folder's catalog.sqlite (`--catalog`: a file or postgres://…). */
  readonly catalog?: string | undefined;
  readonly catalogSchema?: string | undefined;
  readonly out: string;
  /** The absolute URL OUT will be published at: every id of the copy starts with it. */
  readonly baseUrl: string;
  /** Images exported at once (each writes its tiles one after the other). */
  readonly workers: number;
  readonly onProgress?: ((progress: Progress) => void) | undefined;
  /** Longest side of the pages of each object's PDF (OUT/pdf/{object}.pdf), in pixels; 0: no PDFs. Default 1500. */
  readonly pdfSize?: number | undefined;
}

export interface StaticExportReport {
  readonly images: number;
  readonly exported: number;
  /** Images whose copy was already complete and up to date. */
  readonly skipped: number;
  readonly failed: readonly { readonly identifier: string; readonly reason: string }[];
  /** Image files (tiles and sizes) written by this run. */
  readonly files: number;
  readonly manifests: number;
  readonly collections: number;
  /** The URL of the top collection. */
  readonly top: string;
  /** Object PDFs written by this run, and those already up to date. */
  readonly pdfs: { readonly written: number; readonly skipped: number };
}

/** What a page's copy was made from: a new conversion of the page makes it stale. */
const stampOf = (page: PageRecord): string => `${page.sourceSha256} ${page.settings} ${page.convertedAt} ${page.width}x${page.height}\n`;

/** The record of a finished image, written last: its presence means every file of the image is there. */
const stampFile = (out: string, identifier: string): string => path.join(out, '.vitrine-export', `${encodeURIComponent(identifier)}.done`);

/**
 * Writes a static level-0 copy of a data folder: for every image its info.json (3.0 and 2.1), the
 * tiles and sizes it declares, and the manifests and collections pointing at them, laid out under
 * OUT as their URLs, so that a plain web host serves the archive. Resumable: an image finished by an
 * earlier run is skipped, a file already written is kept; every file is renamed into place whole.
 */
export async function exportStatic(options: StaticExportOptions): Promise<StaticExportReport> {
  const base = options.baseUrl.replace(/\/+$/, '');
  const config = loadServeConfig({ data: options.data, logLevel: 'silent', sourceCheckIntervalMs: 0 }, { env: {} });
  const location = catalogLocation(options.data, options.catalog, options.catalogSchema);
  const images = await ImageService.create(config, undefined, await openCatalogSource(location));
  const pages: PageRecord[] = [];
  {
    const catalog = await openCatalogForReading(location);
    for (const o of await catalog.objects()) pages.push(...(await catalog.pages(o.id)));
    await catalog.close();
  }

  const sizes = new Map<string, Readonly<Record<ApiVersion, readonly Dimensions[]>>>();
  /** Images whose copy is complete (exported now or up to date): the PDFs are made of these only. */
  const complete = new Set<string>();
  const failed: { identifier: string; reason: string }[] = [];
  let exported = 0;
  let skipped = 0;
  let files = 0;
  let pdfs: PdfExportReport = { objects: new Set(), written: 0, skipped: 0 };
  const startedAt = Date.now();
  const report = (page: PageRecord, outcome: 'converted' | 'skipped' | 'failed', reason?: string): void =>
    options.onProgress?.({
      total: pages.length,
      done: exported + skipped + failed.length,
      converted: exported,
      skipped,
      failed: failed.length,
      startedAt,
      last: { source: page.identifier, outcome, reason },
    });

  const exportImage = async (page: PageRecord): Promise<void> => {
    const { identifier } = page;
    const stamp = stampFile(options.out, identifier);
    const previous = await readFile(stamp, 'utf8').catch(() => undefined);
    // An image converted again since its copy was made is written again whole.
    const upToDate = previous === stampOf(page);
    let written = 0;
    // As an anonymous visitor: a static copy never holds pixels the access gate would refuse.
    await images.withSource(identifier, () => ANONYMOUS, async (source, granted) => {
      // A degraded image is not copied (a level-0 copy of its reduced size is for later): its full-size tiles would leak.
      if (granted.protected) throw new AccessDeniedError(`identifier '${identifier}': access is ${granted.policy.access}; a static copy holds open images only`);
      const layout = level0Layout(describeSource(source.info));
      sizes.set(identifier, layout.sizes);
      if (upToDate) return;
      // Each distinct request is rendered once, and written under every URL (3.0 and 2.1) that asks it.
      const targets = new Map<string, { request: ReturnType<typeof requestOf>; files: string[] }>();
      for (const version of [3, 2] as const) {
        const dir = imageDir(options.out, version, identifier);
        for (const regionAndSize of layout.paths[version]) {
          const file = path.join(dir, ...regionAndSize.split('/'), '0', 'default.jpg');
          if (previous === undefined && (await exists(file))) continue;
          const request = requestOf(version, regionAndSize, source);
          const key = requestKey(request);
          const target = targets.get(key) ?? { request, files: [] };
          target.files.push(file);
          targets.set(key, target);
        }
      }
      for (const { request, files: out } of targets.values()) {
        const bytes = await renderRequest(images, source, request);
        for (const file of out) await writeAtomically(file, bytes);
        written += out.length;
      }
      for (const version of [3, 2] as const) {
        const id = `${base}/iiif/${version}/${encodeURIComponent(identifier)}`;
        await writeAtomically(path.join(imageDir(options.out, version, identifier), 'info.json'), `${JSON.stringify(level0Info(version, id, layout))}\n`);
        const alias = encodedAlias(options.out, version, identifier);
        if (alias) await linkAlias(alias);
      }
    });
    files += written;
    complete.add(identifier);
    if (upToDate) return void (skipped++, report(page, 'skipped'));
    await writeAtomically(stamp, stampOf(page));
    exported++;
    report(page, 'converted');
  };

  try {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < pages.length) {
        const page = pages[next++]!;
        try {
          await exportImage(page);
        } catch (error) {
          failed.push({ identifier: page.identifier, reason: error instanceof Error ? error.message : String(error) });
          report(page, 'failed', failed[failed.length - 1]!.reason);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(options.workers, pages.length)) }, worker));
    const pdfSize = options.pdfSize ?? DEFAULT_PDF_SIZE;
    if (pdfSize > 0) {
      const catalog = await openCatalogForReading(location);
      const text = new SqliteSearchIndex(path.join(options.data, CATALOG_FILE), { readonly: true });
      try {
        pdfs = await exportPdfs({ images, catalog, text, out: options.out, size: pdfSize, exported: complete });
      } finally {
        text.close();
        await catalog.close();
      }
    }
  } finally {
    await images.close();
  }

  // Thumbnails name a size each image was written at; an image that failed keeps its canvas, with
  // `max`/`full` as its thumbnail (missing until a run exports it).
  const presentation = await exportManifests({
    data: options.data,
    baseUrl: base,
    out: options.out,
    v2: true,
    limits: {},
    staticImages: { sizes: (identifier, version) => sizes.get(identifier)?.[version] ?? [], hasPdf: (objectId) => pdfs.objects.has(objectId) },
  });
  return {
    images: pages.length,
    exported,
    skipped,
    failed,
    files,
    manifests: presentation.manifests,
    collections: presentation.collections,
    top: presentation.top,
    pdfs: { written: pdfs.written, skipped: pdfs.skipped },
  };
}
