import type { PageText } from './model.js';

/**
 * The text of a plain-text sidecar: one line per line of the file, words split on white space.
 * It has no coordinates, so its words have no boxes: hits on such a page target the whole canvas.
 */
export function parsePlainText(text: string): PageText {
  const lines = text
    .replace(/^\uFEFF/, '')
    .split(/\r\n|\r|\n|\f/)
    .map((l) => l.split(/\s+/).filter((w) => w.length > 0))
    .filter((words) => words.length > 0)
    .map((words) => ({ words: words.map((w) => ({ text: w })) }));
  return { format: 'text', lines };
}
