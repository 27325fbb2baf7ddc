import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import { ANONYMOUS } from '../auth/gate.js';
import type { PageRecord } from '../catalog/catalog.js';
import type { CatalogStore } from '../catalog/store.js';
import { writeObjectPdf } from '../pdf/object-pdf.js';
import { renameDurably } from '../pipeline/durable.js';
import { firstValue, objectLabel } from '../presentation/model.js';
import type { SearchIndex } from '../search/search-index.js';
import type { ImageService } from '../server/image-service.js';
import { exists, writeAtomically } from './files.js';

export interface PdfExportOptions {
  readonly images: ImageService;
  readonly catalog: CatalogStore;
  readonly text: SearchIndex | undefined;
  readonly out: string;
  /** Longest side of the pages, in pixels. */
  readonly size: number;
  /** The images this copy holds (open, exported): an object gets a PDF only when it holds all its pages. */
  readonly exported: ReadonlySet<string>;
}

export interface PdfExportReport {
  /** Objects whose PDF the copy holds (written now or up to date): their manifests name it. */
  readonly objects: Set<string>;
  readonly written: number;
  readonly skipped: number;
}

/** OUT/pdf/{object}.pdf: the URL path of the copy's PDF (urls.pdf), slashes of the id kept as folders. */
export const pdfFile = (out: string, objectId: string): string => path.join(out, 'pdf', ...`${objectId}.pdf`.split('/'));

const stampFile = (out: string, objectId: string): string => path.join(out, '.vitrine-export', 'pdf', `${encodeURIComponent(objectId)}.done`);

/** What an object's PDF was made from: a page converted again, added or removed, or another size makes it stale. */
const stampOf = (pages: readonly PageRecord[], size: number, withText: number): string =>
  `${size} ${withText}\n${pages.map((p) => `${p.identifier} ${p.sourceSha256} ${p.convertedAt} ${p.width}x${p.height}`).join('\n')}\n`;

/**
 * Writes a PDF for every object of the copy whose pages are all open (the gate asked as an anonymous
 * visitor, and asked again for every page: a static PDF never holds pixels the server would refuse),
 * one object after the other, each streamed to a temporary file and renamed into place whole.
 */
export async function exportPdfs(options: PdfExportOptions): Promise<PdfExportReport> {
  const objects = new Set<string>();
  let written = 0;
  let skipped = 0;
  for (const object of await options.catalog.objects()) {
    const pages = await options.catalog.pages(object.id);
    if (pages.length === 0 || !pages.every((p) => options.exported.has(p.identifier))) continue;
    const file = pdfFile(options.out, object.id);
    const withText = options.text ? options.text.objectPages(object.id).size : 0;
    const stamp = stampOf(pages, options.size, withText);
    if ((await readFile(stampFile(options.out, object.id), 'utf8').catch(() => undefined)) === stamp && (await exists(file))) {
      objects.add(object.id);
      skipped++;
      continue;
    }
    await mkdir(path.dirname(file), { recursive: true });
    const temporary = `${file}.${process.pid}.tmp`;
    const stream = createWriteStream(temporary);
    try {
      const title = firstValue(objectLabel(object, (await options.catalog.objectMetadata(object.id))?.metadata ?? {}));
      const done = finished(stream);
      await writeObjectPdf(
        { title, modified: new Date(Date.parse(object.updatedAt) || 0), pages },
        { images: options.images, longest: options.size, limits: {}, credentials: () => ANONYMOUS, requireFullAccess: true, text: (id) => options.text?.lines(id) ?? [] },
        stream,
      );
      await done;
      await renameDurably(temporary, file);
    } catch (error) {
      stream.destroy();
      await rm(temporary, { force: true });
      throw error;
    }
    await writeAtomically(stampFile(options.out, object.id), stamp);
    objects.add(object.id);
    written++;
  }
  return { objects, written, skipped };
}
