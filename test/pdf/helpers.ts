import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { pagePicture } from '../helpers/corpus.js';

const run = promisify(execFile);

/** Runs a poppler-utils tool (pdfinfo, pdftotext, pdftoppm, pdfimages) and returns its standard output. */
export async function poppler(tool: string, ...args: string[]): Promise<string> {
  try {
    return (await run(tool, args, { maxBuffer: 64 << 20 })).stdout;
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw new Error(`${tool} is missing: apt-get install poppler-utils`);
    throw new Error(`${tool} ${args.join(' ')}: ${e.stderr ?? e.message}`);
  }
}

/** The page sizes pdfinfo reports, in points. */
export async function pageSizes(file: string): Promise<{ width: number; height: number }[]> {
  const info = await poppler('pdfinfo', '-f', '1', '-l', '100000', file);
  return [...info.matchAll(/^Page\s+\d+ size:\s+([\d.]+) x ([\d.]+) pts/gm)].map((m) => ({ width: Number(m[1]), height: Number(m[2]) }));
}

/** The words pdftotext -bbox finds on a page, with their boxes in points. */
export async function wordsOnPage(file: string, page: number): Promise<{ text: string; xMin: number; yMin: number; xMax: number; yMax: number }[]> {
  const html = await poppler('pdftotext', '-bbox', '-f', String(page), '-l', String(page), file, '-');
  return [...html.matchAll(/<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)<\/word>/g)].map((m) => ({
    xMin: Number(m[1]),
    yMin: Number(m[2]),
    xMax: Number(m[3]),
    yMax: Number(m[4]),
    text: m[5]!.replace(/&amp;/g, '&'),
  }));
}

/**
 * ALTO measured on a 1200×1600 scan of a 600×800 page (boxes halve on the canvas): two lines,
 * large enough that visible glyphs would change the rendered page.
 */
export const ALTO = `<?xml version="1.0" encoding="UTF-8"?>
<alto xmlns="http://www.loc.gov/standards/alto/ns-v3#">
  <Description><MeasurementUnit>pixel</MeasurementUnit></Description>
  <Layout><Page ID="p1" WIDTH="1200" HEIGHT="1600" PHYSICAL_IMG_NR="1"><PrintSpace>
    <TextBlock ID="b1">
      <TextLine ID="l1" HPOS="100" VPOS="200" WIDTH="1000" HEIGHT="120">
        <String CONTENT="Vitrine" HPOS="100" VPOS="200" WIDTH="260" HEIGHT="120"/><SP/>
        <String CONTENT="keeps" HPOS="400" VPOS="200" WIDTH="200" HEIGHT="120"/><SP/>
        <String CONTENT="letters" HPOS="640" VPOS="200" WIDTH="220" HEIGHT="120"/><SP/>
        <String CONTENT="safely" HPOS="900" VPOS="200" WIDTH="200" HEIGHT="120"/>
      </TextLine>
      <TextLine ID="l2" HPOS="100" VPOS="600" WIDTH="900" HEIGHT="100">
        <String CONTENT="Łódź" HPOS="100" VPOS="600" WIDTH="300" HEIGHT="100"/><SP/>
        <String CONTENT="&amp;" HPOS="440" VPOS="600" WIDTH="60" HEIGHT="100"/><SP/>
        <String CONTENT="Émile" HPOS="540" VPOS="600" WIDTH="460" HEIGHT="100"/>
      </TextLine>
    </TextBlock>
  </PrintSpace></Page></Layout>
</alto>
`;

/** The ALTO lines' boxes on the 600×800 canvas (halved). */
export const LINE_BOXES = [
  { x: 50, y: 100, w: 500, h: 60 },
  { x: 50, y: 300, w: 450, h: 50 },
];

/**
 * masters/
 *   book/p-001.tif + p-001.alto.xml   600×800, ALTO (boxes)
 *   book/p-002.tif + p-002.txt        plain text (no boxes)
 *   book/p-003.tif                    no text
 *   gone/x-001.tif                    withdrawn by a test
 *   Maps/Map/001.tif                  degraded to 200 px (clickthrough)
 *   Fonds/Letter/001.tif              restricted (login)
 */
export async function writePdfMasters(root: string): Promise<void> {
  const tif = (n: number, w = 600, h = 800): Promise<Buffer> => pagePicture(n, w, h).tiff({ compression: 'lzw' }).toBuffer();
  const files: [string, string | Buffer][] = [
    ['book/p-001.tif', await tif(1)],
    ['book/p-001.alto.xml', ALTO],
    ['book/p-002.tif', await tif(2)],
    ['book/p-002.txt', 'Second page speaks plainly\nand goes on\n'],
    ['book/p-003.tif', await tif(3)],
    ['gone/x-001.tif', await tif(4, 300, 200)],
    ['Maps/access.yml', 'access: degraded\ndegradedSize: 200\nprofile: clickthrough\n'],
    ['Maps/Map/001.tif', await tif(5, 600, 450)],
    ['Fonds/access.yml', 'access: restricted\nprofile: login\n'],
    ['Fonds/Letter/001.tif', await tif(6, 600, 450)],
  ];
  for (const [name, content] of files) {
    await mkdir(path.dirname(path.join(root, name)), { recursive: true });
    await writeFile(path.join(root, name), content);
  }
}
