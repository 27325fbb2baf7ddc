/**
 * The text of a page as an OCR sidecar gives it, whatever its format: lines of words, each word
 * with its box when the format has one, in the sidecar's own coordinate space (`size`: the page
 * size the sidecar declares, in the same units as its boxes). Search 1.0 and 2.0, the text
 * annotations and the index all work on this one value, scaled to the canvas once.
 */

/** A rectangle, x/y its top left corner. */
export interface Box {
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
}

export interface Word {
  readonly text: string;
  /** Absent for plain text (no coordinates). */
  readonly box?: Box | undefined;
}

export interface Line {
  readonly words: readonly Word[];
}

/** The sidecar formats read beside masters. */
export type SidecarFormat = 'alto' | 'hocr' | 'text';

export interface PageText {
  readonly format: SidecarFormat;
  /** The page size the sidecar's coordinates refer to (ALTO Page WIDTH/HEIGHT, hOCR ocr_page bbox); absent: the canvas's. */
  readonly size?: { readonly width: number; readonly height: number } | undefined;
  readonly lines: readonly Line[];
  /** The ALTO schema version the file declares (for the `seeAlso` profile). */
  readonly version?: string | undefined;
}

/** The error a sidecar that cannot be read as its format raises, naming what is wrong. */
export class SidecarError extends Error {
  override name = 'SidecarError';
}

/** A box of the sidecar's space in canvas pixels: scaled by canvas/page size, rounded outward, clipped to the canvas. */
export function scaleBox(box: Box, scaleX: number, scaleY: number, canvas: { width: number; height: number }): Box {
  const x0 = Math.max(0, Math.floor(box.x * scaleX));
  const y0 = Math.max(0, Math.floor(box.y * scaleY));
  const x1 = Math.min(canvas.width, Math.ceil((box.x + box.w) * scaleX));
  const y1 = Math.min(canvas.height, Math.ceil((box.y + box.h) * scaleY));
  return { x: x0, y: y0, w: Math.max(0, x1 - x0), h: Math.max(0, y1 - y0) };
}

/**
 * The page's text with its boxes in canvas pixels. Masters and derivatives may differ in size, and
 * sidecars may measure in other units (ALTO mm10, inch1200): the ratio of the canvas to the page
 * size the sidecar declares covers both.
 */
export function scaleToCanvas(text: PageText, canvas: { width: number; height: number }): PageText {
  const size = text.size ?? canvas;
  const sx = size.width > 0 ? canvas.width / size.width : 1;
  const sy = size.height > 0 ? canvas.height / size.height : 1;
  return {
    ...text,
    size: { width: canvas.width, height: canvas.height },
    lines: text.lines.map((line) => ({ words: line.words.map((w) => (w.box ? { text: w.text, box: scaleBox(w.box, sx, sy, canvas) } : w)) })),
  };
}

/** The smallest box around some boxes. */
export function unionBox(boxes: readonly Box[]): Box | undefined {
  if (boxes.length === 0) return undefined;
  const x0 = Math.min(...boxes.map((b) => b.x));
  const y0 = Math.min(...boxes.map((b) => b.y));
  const x1 = Math.max(...boxes.map((b) => b.x + b.w));
  const y1 = Math.max(...boxes.map((b) => b.y + b.h));
  return { x: x0, y: y0, w: x1 - x0, h: y1 - y0 };
}
