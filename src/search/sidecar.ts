import { readFile } from 'node:fs/promises';
import { parseAlto } from './alto.js';
import { parseHocr } from './hocr.js';
import { SidecarError, type PageText, type SidecarFormat } from './model.js';
import { parsePlainText } from './plain-text.js';

/**
 * OCR sidecars beside a master, by how their name ends after the master's base name
 * (`p-001.tif` → `p-001.alto.xml`), in order of preference when a page has several.
 */
const ENDINGS: readonly { readonly ending: string; readonly format: SidecarFormat }[] = [
  { ending: '.alto.xml', format: 'alto' },
  { ending: '.xml', format: 'alto' },
  { ending: '.hocr', format: 'hocr' },
  { ending: '.html', format: 'hocr' },
  { ending: '.txt', format: 'text' },
];

/** A file name read as an OCR sidecar: the base name of the master it goes with (lower case), its format and rank (0 preferred). */
export function ocrSidecarName(name: string): { stem: string; format: SidecarFormat; rank: number } | undefined {
  const lower = name.toLowerCase();
  const index = ENDINGS.findIndex((e) => lower.endsWith(e.ending) && lower.length > e.ending.length);
  if (index === -1) return undefined;
  const found = ENDINGS[index]!;
  return { stem: lower.slice(0, -found.ending.length), format: found.format, rank: index };
}

/** The Content-Type a sidecar is served with. */
export const SIDECAR_MEDIA_TYPES: Record<SidecarFormat, string> = {
  alto: 'application/xml; charset=utf-8',
  hocr: 'text/vnd.hocr+html; charset=utf-8',
  text: 'text/plain; charset=utf-8',
};

/** Bumped when the parsers read the same file differently, so that a re-run indexes every page again. */
export const PARSER_VERSION = 1;

/** Parses a sidecar's content as its format; a SidecarError names the file and what is wrong. */
export function parseSidecar(content: string, format: SidecarFormat, name: string): PageText {
  const text = content.replace(/^\uFEFF/, '');
  if (format === 'alto') return parseAlto(text, name);
  if (format === 'hocr') return parseHocr(text, name);
  return parsePlainText(text);
}

/** Reads and parses a sidecar file (UTF-8). */
export async function readSidecar(file: string, format: SidecarFormat, name: string): Promise<PageText> {
  let content: string;
  try {
    content = await readFile(file, 'utf8');
  } catch (error) {
    throw new SidecarError(`${name}: cannot be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  return parseSidecar(content, format, name);
}
