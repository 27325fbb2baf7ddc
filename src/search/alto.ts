import { scanMarkup } from './markup.js';
import { SidecarError, type Box, type Line, type PageText, type Word } from './model.js';

const number = (value: string | undefined): number | undefined => {
  if (value === undefined || value.trim() === '') return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : undefined;
};

/** The ALTO major version a namespace URI names (`…/alto/ns-v3#` → '3'). */
function versionOf(namespace: string | undefined): string | undefined {
  return namespace ? /alto\/ns-v(\d+)#?$/.exec(namespace)?.[1] : undefined;
}

/**
 * The text of an ALTO file (versions 2 to 4): its first Page's TextLines, their Strings with
 * HPOS/VPOS/WIDTH/HEIGHT, and the Page's WIDTH/HEIGHT, in the file's MeasurementUnit (pixel,
 * mm10 or inch1200; scaling to the canvas by the page size covers all three). A String without
 * coordinates is kept without a box.
 */
export function parseAlto(xml: string, name: string): PageText {
  let root: string | undefined;
  let version: string | undefined;
  let size: { width: number; height: number } | undefined;
  let pages = 0;
  let inUnit = false;
  let unit = '';
  const lines: Line[] = [];
  let current: Word[] | undefined;
  try {
    scanMarkup(xml, {
      open(element, attributes) {
        if (root === undefined) {
          root = element;
          version = versionOf(attributes.get('xmlns') ?? [...attributes].find(([k]) => k.startsWith('xmlns:'))?.[1]);
          return;
        }
        if (element === 'measurementunit') inUnit = true;
        else if (element === 'page') {
          pages++;
          const width = number(attributes.get('width'));
          const height = number(attributes.get('height'));
          if (pages === 1 && width && height) size = { width, height };
        } else if (pages > 1) {
          // Later pages of a multi-page file are not this master page's.
        } else if (element === 'textline') current = [];
        else if (element === 'string') {
          const text = (attributes.get('content') ?? '').trim();
          if (!text) return;
          const [x, y, w, h] = ['hpos', 'vpos', 'width', 'height'].map((k) => number(attributes.get(k)));
          const box: Box | undefined = x !== undefined && y !== undefined && w !== undefined && h !== undefined ? { x, y, w, h } : undefined;
          (current ?? (current = [])).push({ text, box });
        }
      },
      close(element) {
        if (element === 'measurementunit') inUnit = false;
        else if (element === 'textline' && current) {
          if (current.length > 0) lines.push({ words: current });
          current = undefined;
        }
      },
      text(text) {
        if (inUnit) unit += text;
      },
    });
  } catch (error) {
    throw new SidecarError(`${name}: not well-formed: ${(error as Error).message}`);
  }
  if (root !== 'alto') throw new SidecarError(`${name}: not ALTO (the root element is ${root ? `<${root}>` : 'missing'})`);
  if (current && current.length > 0) lines.push({ words: current });
  unit = unit.trim();
  if (!size && unit && unit !== 'pixel') throw new SidecarError(`${name}: coordinates in ${unit} but the Page has no WIDTH/HEIGHT to scale them by`);
  return { format: 'alto', size, lines, version };
}
