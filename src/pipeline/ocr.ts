import { scaleToCanvas, SidecarError } from '../search/model.js';
import type { SearchIndex, SidecarState } from '../search/search-index.js';
import { PARSER_VERSION, readSidecar } from '../search/sidecar.js';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { PlannedPage } from './plan.js';
import type { OcrSidecar } from './scan.js';
import { TesseractError, type TesseractOcr } from './tesseract.js';

/**
 * Keeps the search index in step with the pages' OCR sidecars during a conversion run, page by
 * page: a page whose sidecar and canvas size are those it was indexed from is left alone; an
 * edited sidecar is read again even when the image is unchanged; a page whose sidecar is gone
 * loses its text. Only the first page of a multi-page master has a sidecar (its base name is the
 * file's). With Tesseract (`convert --ocr tesseract`), a first page without a sidecar is read by
 * Tesseract and its kept hOCR file stands for the sidecar.
 */
export class OcrIndexing {
  constructor(
    private readonly index: SearchIndex,
    readonly tesseract?: TesseractOcr | undefined,
  ) {}

  /** The page's sidecar: the one beside its master, else Tesseract's hOCR when the run has Tesseract. */
  private async sidecarOf(page: PlannedPage): Promise<OcrSidecar | undefined> {
    if (page.sourcePage !== 0) return undefined;
    if (page.source.ocr || !this.tesseract) return page.source.ocr;
    const file = await this.tesseract.hocrOf(page.identifier, page.source);
    const info = await stat(file);
    return { relativePath: `ocr/${path.basename(file)}`, absolutePath: file, format: 'hocr', size: info.size, mtimeMs: info.mtimeMs };
  }

  /** Brings a page's text in line with its sidecar; the reason, when the sidecar cannot be read. */
  async sync(objectId: string, page: PlannedPage, canvas: { width: number; height: number }): Promise<string | undefined> {
    let sidecar: OcrSidecar | undefined;
    try {
      sidecar = await this.sidecarOf(page);
    } catch (error) {
      if (!(error instanceof TesseractError)) throw error;
      this.index.removePage(page.identifier);
      return `${page.source.relativePath}: ${error.message}`;
    }
    if (!sidecar) {
      this.index.removePage(page.identifier);
      return undefined;
    }
    const known = this.index.pageState(page.identifier);
    if (
      known &&
      known.path === sidecar.absolutePath &&
      known.size === sidecar.size &&
      Math.abs(known.mtimeMs - sidecar.mtimeMs) < 1 &&
      known.canvasWidth === canvas.width &&
      known.canvasHeight === canvas.height &&
      known.parserVersion === PARSER_VERSION
    ) {
      return undefined;
    }
    try {
      const text = await readSidecar(sidecar.absolutePath, sidecar.format, sidecar.relativePath);
      const state: SidecarState = {
        path: sidecar.absolutePath,
        format: sidecar.format,
        size: sidecar.size,
        mtimeMs: sidecar.mtimeMs,
        canvasWidth: canvas.width,
        canvasHeight: canvas.height,
        parserVersion: PARSER_VERSION,
        version: text.version,
        indexedAt: new Date().toISOString(),
      };
      this.index.replacePage({ identifier: page.identifier, objectId, sidecar: state, text: scaleToCanvas(text, canvas) });
      return undefined;
    } catch (error) {
      if (!(error instanceof SidecarError)) throw error;
      // The text no longer matches the sidecar: better none than a stale one.
      this.index.removePage(page.identifier);
      return error.message;
    }
  }

  /** Once an object's pages are recorded: the text of pages no longer in it goes. */
  complete(objectId: string, pages: readonly string[]): void {
    this.index.retainPages(objectId, pages);
  }

  /** An object withdrawn: its text goes too (archive-wide counts would still find it). */
  withdraw(objectId: string): void {
    this.index.retainPages(objectId, []);
  }

  close(): void {
    this.index.close();
  }
}
