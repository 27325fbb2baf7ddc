import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Writable } from 'node:stream';
import PDFDocument from 'pdfkit';
import type { Dimensions } from '../image-api/request.js';
import type { TextLine } from '../search/search-index.js';
import { boxOnPage, pageSizeOf, type PointRect } from './geometry.js';

/** PDFKit's text options with `horizontalScaling` (PDF `Tz`), which PDFKit has and its type declarations lack. */
type ScaledText = PDFKit.Mixins.TextOptions & { horizontalScaling?: number };

/** One page of a PDF: its image as JPEG bytes (embedded as they are, never re-encoded) and its OCR text. */
export interface PdfPage {
  readonly jpeg: Buffer;
  /** The JPEG's size in pixels. */
  readonly size: Dimensions;
  /** The page's OCR lines, boxes in canvas pixels (`canvas`); none when the page has no text. */
  readonly lines: readonly TextLine[];
  readonly canvas: Dimensions;
}

export interface PdfInfo {
  readonly title: string;
  /** The catalog's time for the object: the PDF's dates, so the same data gives the same bytes. */
  readonly modified: Date;
}

/**
 * The invisible text layer's font: DejaVu Sans (an npm package of the fonts), for its wide Unicode
 * coverage; PDFKit embeds only the glyphs used, with a ToUnicode map, so text extraction and search
 * give the OCR's own characters. Its shapes are never seen (text render mode 3).
 */
const FONT = readFileSync(createRequire(import.meta.url).resolve('dejavu-fonts-ttf/ttf/DejaVuSans.ttf'));

/**
 * Writes a PDF to `out` a page at a time (PDFKit): each page's JPEG is written to the stream as
 * soon as the page is added and not kept, and the next page waits while `out` is full, so memory
 * holds one page whatever the number of pages and however slow the reader.
 */
export class PdfWriter {
  private readonly doc: PDFKit.PDFDocument;
  private failure: Error | undefined;
  private readonly ended: Promise<void>;
  /** Font size per point of line height (the font's ascender to descender). */
  private readonly emPerPoint: number;

  constructor(
    private readonly out: Writable,
    info: PdfInfo,
  ) {
    this.doc = new PDFDocument({
      autoFirstPage: false,
      compress: true,
      info: { Title: info.title, Producer: 'Vitrine', Creator: 'Vitrine', CreationDate: info.modified, ModDate: info.modified },
    });
    this.doc.registerFont('ocr', FONT);
    this.doc.font('ocr');
    this.emPerPoint = 1000 / this.doc.fontSize(1000).currentLineHeight(false);
    // PDFKit pushes its bytes without waiting: they go to `out`, whose backpressure addPage honours.
    this.doc.on('data', (chunk: Buffer) => {
      if (!out.destroyed) out.write(chunk);
    });
    this.ended = new Promise((resolve, reject) => {
      this.doc.once('end', () => {
        out.end();
        resolve();
      });
      this.doc.once('error', reject);
    });
    out.once('close', () => {
      if (!out.writableFinished) this.failure ??= new Error('the PDF reader went away');
    });
    out.once('error', (error) => (this.failure ??= error));
  }

  /** Adds a page, then waits until `out` has room for the next one. */
  async addPage(page: PdfPage): Promise<void> {
    if (this.failure) throw this.failure;
    const size = pageSizeOf(page.size);
    const doc = this.doc;
    doc.addPage({ size: [size.width, size.height], margin: 0 });
    doc.image(page.jpeg, 0, 0, { width: size.width, height: size.height });
    if (page.lines.length > 0) this.textLayer(page.lines, page.canvas, size);
    // The page's content stream is written when the next page starts (or at the end).
    await this.flushed();
    if (this.failure) throw this.failure;
  }

  /**
   * Returns once what PDFKit has written has gone into `out` and `out` has room again. PDFKit's
   * bytes reach `out` through 'data' events, some only on a later tick (the document starts
   * flowing on the tick after its listener is added): those are let through before `out` is asked.
   */
  private async flushed(): Promise<void> {
    for (;;) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (this.failure || (!this.out.writableNeedDrain && this.doc.readableLength === 0)) return;
      if (this.out.writableNeedDrain) await Promise.race([once(this.out, 'drain'), once(this.out, 'close')]);
    }
  }

  /**
   * The OCR lines as invisible text (render mode 3, as OCR engines write searchable PDFs), each
   * line sized and stretched to its box so that a search or a selection highlights the right place.
   * Lines without a box (plain-text OCR) are stacked down the page.
   */
  private textLayer(lines: readonly TextLine[], canvas: Dimensions, page: Dimensions): void {
    const doc = this.doc;
    doc.save();
    doc.addContent('3 Tr');
    const unboxed = lines.filter((l) => !l.box).length;
    let stacked = 0;
    for (const line of lines) {
      const text = line.text.trim();
      if (text === '') continue;
      const rect: PointRect = line.box
        ? boxOnPage(line.box, canvas, page)
        : { x: page.width * 0.05, y: page.height * (0.05 + (0.9 * stacked++) / Math.max(1, unboxed)), width: page.width * 0.9, height: Math.min(12, (page.height * 0.9) / Math.max(1, unboxed)) };
      if (rect.width <= 0 || rect.height <= 0) continue;
      doc.fontSize(rect.height * this.emPerPoint);
      const natural = doc.widthOfString(text);
      const horizontalScaling = natural > 0 ? (100 * rect.width) / natural : 100;
      const options: ScaledText = { lineBreak: false, horizontalScaling };
      doc.text(text, rect.x, rect.y, options);
    }
    doc.restore();
  }

  /** Finishes the document (trailer, embedded font subset) and ends `out`. */
  async end(): Promise<void> {
    if (this.failure) throw this.failure;
    this.doc.end();
    await this.ended;
    if (this.failure) throw this.failure;
  }
}
