import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { CLI, vitrine } from '../helpers/cli.js';
import { startServer, tempDir, type RunningServer } from '../helpers/server.js';

type Json = Record<string, any>;
const run = promisify(execFile);

/** Printed words at known places on a 1200×800 white page: large black serif text, one <text> per word. */
const WORDS = { Vitrine: 120, archive: 480, letter: 840 } as const;
const BASELINE = 300;
const svgPage = (words: Record<string, number>): Buffer =>
  Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="1200" height="800"><rect width="1200" height="800" fill="white"/>` +
      Object.entries(words)
        .map(([word, x]) => `<text x="${x}" y="${BASELINE}" font-family="serif" font-size="48" fill="black">${word}</text>`)
        .join('') +
      '</svg>',
  );
const pagePng = (words: Record<string, number>): Promise<Buffer> => sharp(svgPage(words)).flatten({ background: 'white' }).png().toBuffer();

/** Where a word's ink is on the page: the dark pixels of the page rendered with that word alone. */
async function inkBox(word: keyof typeof WORDS): Promise<{ x0: number; y0: number; x1: number; y1: number }> {
  const { data, info } = await sharp(svgPage({ [word]: WORDS[word] })).flatten({ background: 'white' }).greyscale().raw().toBuffer({ resolveWithObject: true });
  let [x0, y0, x1, y1] = [Infinity, Infinity, -1, -1];
  for (let y = 0; y < info.height; y++) {
    for (let x = 0; x < info.width; x++) {
      if (data[y * info.width + x]! < 128) [x0, y0, x1, y1] = [Math.min(x0, x), Math.min(y0, y), Math.max(x1, x + 1), Math.max(y1, y + 1)];
    }
  }
  assert.ok(x1 > 0, `the SVG renderer drew no ${word}`);
  return { x0, y0, x1, y1 };
}

const xywh = (target: string): number[] => /#xywh=(\d+),(\d+),(\d+),(\d+)$/.exec(target)!.slice(1).map(Number);

/** The box covers the word's ink (within a few pixels) and is the word's, not its line's or the page's. */
function assertCovers(box: number[], ink: { x0: number; y0: number; x1: number; y1: number }): void {
  const [x, y, w, h] = box as [number, number, number, number];
  const slack = 4;
  const message = `box ${box.join(',')} vs ink ${JSON.stringify(ink)}`;
  assert.ok(x <= ink.x0 + slack && y <= ink.y0 + slack && x + w >= ink.x1 - slack && y + h >= ink.y1 - slack, message);
  assert.ok(w <= ink.x1 - ink.x0 + 2 * slack + 10 && h <= ink.y1 - ink.y0 + 2 * slack + 10, message);
}

async function getJson(url: string): Promise<Json> {
  const response = await fetch(url);
  assert.equal(response.status, 200, await response.clone().text());
  return (await response.json()) as Json;
}

async function convert(masters: string, out: string, ...extra: string[]): Promise<Json> {
  const result = await vitrine('convert', masters, '--out', out, '--workers', '2', '--json', ...extra);
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as Json;
}

describe('convert --ocr tesseract: pages without a sidecar are read by Tesseract and searchable', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let masters: string;
  let out: string;
  let first: Json;
  let server: RunningServer;
  let base: string;
  const kept = (): string => path.join(out, 'ocr', 'letter', 'p-001.hocr');

  before(async () => {
    // Needs the OCR engine and the built CLI: fail (never skip) with what to do.
    await run('tesseract', ['--version']).catch(() => {
      throw new Error('tesseract is not installed: run scripts/install-system-deps.sh (apt-get install tesseract-ocr tesseract-ocr-eng)');
    });
    assert.ok(existsSync(CLI), `the CLI is not built: run npx tsc -p tsconfig.build.json (${CLI})`);
    ({ dir, cleanup } = await tempDir('vitrine-tesseract-'));
    masters = path.join(dir, 'masters');
    out = path.join(dir, 'out');
    await mkdir(path.join(masters, 'letter'), { recursive: true });
    // p-001: printed words, no sidecar (Tesseract reads it); p-002: the same print with a sidecar
    // saying something else (the sidecar wins: Tesseract does not read it).
    await writeFile(path.join(masters, 'letter', 'p-001.png'), await pagePng(WORDS));
    await writeFile(path.join(masters, 'letter', 'p-002.png'), await pagePng(WORDS));
    await writeFile(path.join(masters, 'letter', 'p-002.txt'), 'typed transcription only\n');
    first = await convert(masters, out, '--ocr', 'tesseract');
    server = await startServer(undefined, { data: out });
    base = server.url;
  });
  after(async () => {
    await server?.close();
    await cleanup?.();
  });

  it('runs Tesseract on the page without a sidecar only, and keeps its hOCR in the output folder, not beside the masters', async () => {
    assert.equal(first.totals.failed, 0, JSON.stringify(first.failed));
    assert.deepEqual(first.anomalies, []);
    assert.deepEqual(first.tesseract, { lang: 'eng', runs: 1 });
    assert.ok(existsSync(kept()), 'the hOCR is kept under OUT/ocr/');
    assert.deepEqual((await readdir(path.join(out, 'ocr', 'letter'))).filter((f) => f.endsWith('.hocr')), ['p-001.hocr']);
    assert.deepEqual((await readdir(path.join(masters, 'letter'))).sort(), ['p-001.png', 'p-002.png', 'p-002.txt']);
  });

  it('Search 2.0 and 1.0 find a printed word on the OCR\'d canvas, with a box that covers the word', async () => {
    const ink = await inkBox('archive');
    const v2 = await getJson(`${base}/iiif/search/2/letter?q=archive`);
    assert.equal(v2.items.length, 1, JSON.stringify(v2.items));
    assert.equal(v2.items[0].target.replace(/#.*$/, ''), `${base}/iiif/canvas/letter/p-001`);
    assert.equal(v2.items[0].body.value.toLowerCase(), 'archive');
    assertCovers(xywh(v2.items[0].target), ink);
    const v1 = await getJson(`${base}/iiif/search/1/letter?q=${encodeURIComponent('"archive letter"')}`);
    assert.equal(v1.within.total, 1);
    const on = v1.resources[0].on as string;
    assert.equal(on.replace(/#.*$/, ''), `${base}/iiif/canvas/letter/p-001`);
    // The phrase's box spans both words.
    const [x, y, w, h] = xywh(on) as [number, number, number, number];
    const letter = await inkBox('letter');
    assertCovers([x, y, ink.x1 - x + 2, h], ink);
    assert.ok(x + w >= letter.x1 - 4 && y <= letter.y0 + 4, `phrase box ${[x, y, w, h].join(',')} vs ${JSON.stringify(letter)}`);
    // The page with a sidecar has the sidecar's text, not what is printed on it.
    const typed = await getJson(`${base}/iiif/search/2/letter?q=transcription`);
    assert.deepEqual(typed.items.map((a: Json) => a.target), [`${base}/iiif/canvas/letter/p-002`]);
  });

  it('a re-run with the page unchanged does not run Tesseract again; a changed master is read again', async () => {
    const before = (await stat(kept())).mtimeMs;
    const again = await convert(masters, out, '--ocr', 'tesseract');
    assert.deepEqual(again.tesseract, { lang: 'eng', runs: 0 });
    assert.equal(again.totals.skipped, 2);
    assert.equal((await stat(kept())).mtimeMs, before);
    assert.equal((await getJson(`${base}/iiif/search/2/letter?q=archive`)).items.length, 1);
    // New print on p-001: its text follows.
    await writeFile(path.join(masters, 'letter', 'p-001.png'), await pagePng({ Vitrine: 120, museum: 480 }));
    const changed = await convert(masters, out, '--ocr', 'tesseract');
    assert.deepEqual(changed.tesseract, { lang: 'eng', runs: 1 });
    assert.equal((await getJson(`${base}/iiif/search/2/letter?q=archive`)).items.length, 0);
    assert.equal((await getJson(`${base}/iiif/search/2/letter?q=museum`)).items.length, 1);
  });

  it('without --ocr nothing is OCR\'d: the page without a sidecar has no text', async () => {
    const plain = path.join(dir, 'plain');
    const report = await convert(masters, plain);
    assert.equal(report.tesseract, undefined);
    assert.equal(existsSync(path.join(plain, 'ocr')), false);
    const other = await startServer(undefined, { data: plain });
    try {
      assert.equal((await getJson(`${other.url}/iiif/search/2/letter?q=museum`)).items.length, 0);
      assert.equal((await getJson(`${other.url}/iiif/search/2/letter?q=transcription`)).items.length, 1);
    } finally {
      await other.close();
    }
  });

  it('a bad --ocr value or a language Tesseract lacks is a usage error (exit 2) naming it, before anything is converted', async () => {
    const fresh = path.join(dir, 'never');
    const engine = await vitrine('convert', masters, '--out', fresh, '--ocr', 'abbyy');
    assert.equal(engine.code, 2, engine.stderr);
    assert.match(engine.stderr, /--ocr: 'abbyy' is not tesseract/);
    const lang = await vitrine('convert', masters, '--out', fresh, '--ocr', 'tesseract:eng+zzz');
    assert.equal(lang.code, 2, lang.stderr);
    assert.match(lang.stderr, /Tesseract has no data for zzz/);
    assert.equal(existsSync(fresh), false);
  });
});

describe('convert --ocr tesseract: a page Tesseract cannot read', () => {
  it('is an ocr anomaly of its object; the page is converted all the same and the batch succeeds', async () => {
    const { dir, cleanup } = await tempDir('vitrine-tesseract-fail-');
    try {
      const masters = path.join(dir, 'masters');
      await mkdir(path.join(masters, 'strip'), { recursive: true });
      // 40000 pixels wide: more than Tesseract takes ("Image too large"), fine for the pyramid.
      await sharp({ create: { width: 40_000, height: 20, channels: 3, background: 'white' } }).png().toFile(path.join(masters, 'strip', 's-001.png'));
      const report = await convert(masters, path.join(dir, 'out'), '--ocr', 'tesseract');
      assert.equal(report.totals.converted, 1);
      assert.equal(report.totals.failed, 0);
      assert.deepEqual(report.tesseract, { lang: 'eng', runs: 0 });
      assert.equal(report.anomalies.length, 1, JSON.stringify(report.anomalies));
      assert.equal(report.anomalies[0].object, 'strip');
      assert.equal(report.anomalies[0].kind, 'ocr');
      assert.match(report.anomalies[0].detail, /^strip\/s-001\.png: tesseract failed: .*Image too large/);
      assert.equal(existsSync(path.join(dir, 'out', 'ocr', 'strip', 's-001.hocr')), false);
    } finally {
      await cleanup();
    }
  });
});
