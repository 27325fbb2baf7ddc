import { scanMarkup } from './markup.js';
import { SidecarError, type Box, type Line, type PageText, type Word } from './model.js';

/** hOCR classes that hold one line of text. */
const LINE_CLASSES = new Set(['ocr_line', 'ocrx_line', 'ocr_header', 'ocr_caption', 'ocr_textfloat']);

/** The `bbox x0 y0 x1 y1` property of an hOCR title, as a box. */
export function bboxOf(title: string | undefined): Box | undefined {
  const m = title && /(?:^|;)\s*bbox\s+(-?\d+(?:\.\d+)?)\s+(-?\d+(?:\.\d+)?)\s+(-?\d+(?:\.\d+)?)\s+(-?\d+(?:\.\d+)?)/.exec(title);
  if (!m) return undefined;
  const [x0, y0, x1, y1] = m.slice(1, 5).map(Number) as [number, number, number, number];
  return { x: x0, y: y0, w: Math.max(0, x1 - x0), h: Math.max(0, y1 - y0) };
}

interface Open {
  readonly name: string;
  readonly role: 'line' | 'word' | 'other';
}

/**
 * The text of an hOCR file (hOCR 1.x, as Tesseract, OCRopus and Kraken write it): the first
 * ocr_page's bbox as the page size, lines (ocr_line and its kin) of ocrx_word elements with their
 * bbox. Words outside any line make a line of their own.
 */
export function parseHocr(html: string, name: string): PageText {
  const stack: Open[] = [];
  const lines: Line[] = [];
  let size: { width: number; height: number } | undefined;
  let pages = 0;
  let hocr = false;
  let line: Word[] | undefined;
  let word: { text: string; box: Box | undefined } | undefined;
  const endLine = (): void => {
    if (line && line.length > 0) lines.push({ words: line });
    line = undefined;
  };
  try {
    scanMarkup(html, {
      open(element, attributes, selfClosing) {
        const classes = (attributes.get('class') ?? '').split(/\s+/);
        let role: Open['role'] = 'other';
        if (classes.includes('ocr_page')) {
          hocr = true;
          pages++;
          const box = bboxOf(attributes.get('title'));
          if (pages === 1 && box && box.w > 0 && box.h > 0) size = { width: box.x + box.w, height: box.y + box.h };
        } else if (pages > 1) {
          // Later pages of a multi-page file are not this master page's.
        } else if (classes.some((c) => LINE_CLASSES.has(c))) {
          hocr = true;
          endLine();
          line = [];
          role = 'line';
        } else if (classes.includes('ocrx_word') && !word) {
          hocr = true;
          word = { text: '', box: bboxOf(attributes.get('title')) };
          role = 'word';
        }
        if (!selfClosing) stack.push({ name: element, role });
      },
      close(element) {
        // Close up to the matching element (HTML leaves some end tags out).
        const index = stack.map((o) => o.name).lastIndexOf(element);
        if (index === -1) return;
        for (const closed of stack.splice(index).reverse()) {
          if (closed.role === 'word' && word) {
            const text = word.text.replace(/\s+/g, ' ').trim();
            if (text) (line ?? (line = [])).push({ text, box: word.box });
            word = undefined;
          } else if (closed.role === 'line') {
            endLine();
          }
        }
      },
      text(text) {
        if (word) word.text += text;
      },
    });
  } catch (error) {
    throw new SidecarError(`${name}: not well-formed: ${(error as Error).message}`);
  }
  endLine();
  if (!hocr) throw new SidecarError(`${name}: not hOCR (no ocr_page, ocr_line or ocrx_word elements)`);
  return { format: 'hocr', size, lines };
}
