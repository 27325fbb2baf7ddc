import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Catalog } from '../../src/catalog/catalog.js';
import { exportStatic } from '../../src/export/run.js';
import { runConversion } from '../../src/pipeline/run.js';
import { CATALOG_FILE } from '../../src/presentation/store.js';
import { parseExposition, valueOf } from '../helpers/metrics.js';
import { crop, decode, meanAbsDiff } from '../helpers/pixels.js';
import { assertValid3 } from '../helpers/presentation.js';
import { startServer, tempDir, type RunningServer } from '../helpers/server.js';
import { LINE_BOXES, pageSizes, poppler, wordsOnPage, writePdfMasters } from './helpers.js';

type Json = Record<string, any>;

/** Points per canvas pixel on a page asked at `size` of a 600×800 image: 72/150 pt per PDF pixel. */
const ptPerCanvasPx = (size: number): number => ((size / 800) * 72) / 150;

describe('PDF per object: /iiif/pdf/{object}, streamed, searchable, through the access gate', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let out: string;
  let server: RunningServer;
  let base: string;

  /** Fetches a PDF into a file of the temporary folder; returns the response and the file. */
  async function pdf(pathAndQuery: string, expected = 200, headers: Record<string, string> = {}): Promise<{ response: Response; file: string; bytes: Buffer }> {
    const response = await fetch(`${base}${pathAndQuery}`, { headers });
    const bytes = Buffer.from(await response.arrayBuffer());
    assert.equal(response.status, expected, `${pathAndQuery} → ${response.status} ${bytes.toString('utf8', 0, 300)}`);
    const file = path.join(dir, `${encodeURIComponent(pathAndQuery)}.pdf`);
    await writeFile(file, bytes);
    return { response, file, bytes };
  }

  before(async () => {
    ({ dir, cleanup } = await tempDir('vitrine-pdf-'));
    const masters = path.join(dir, 'masters');
    out = path.join(dir, 'out');
    await writePdfMasters(masters);
    const report = await runConversion({ masters, out, workers: 1, dryRun: false, settings: { format: 'ptiff', quality: 85, tileSize: 256, maxInputPixels: 100_000_000 } });
    assert.equal(report.totals.failed, 0, JSON.stringify(report.failed));
    server = await startServer(undefined, { data: out });
    base = server.url;
  });
  after(async () => {
    await server?.close();
    await cleanup();
  });

  it('manifests name the PDF as a rendering (3.0 and 2.1)', async () => {
    const m3 = (await (await fetch(`${base}/iiif/manifest/book`)).json()) as Json;
    assert.deepEqual(m3.rendering, [{ id: `${base}/iiif/pdf/book`, type: 'Text', label: { en: ['PDF (searchable text)'] }, format: 'application/pdf' }]);
    assertValid3(m3, 'book manifest');
    const m2 = (await (await fetch(`${base}/iiif/presentation/2/manifest/book`)).json()) as Json;
    assert.deepEqual(m2.rendering, { '@id': `${base}/iiif/pdf/book`, label: 'PDF (searchable text)', format: 'application/pdf' });
    const map = (await (await fetch(`${base}/iiif/manifest/Maps/Map`)).json()) as Json;
    assert.deepEqual(map.rendering, [{ id: `${base}/iiif/pdf/Maps/Map`, type: 'Text', label: { en: ['PDF'] }, format: 'application/pdf' }]);
  });

  it('has one page per canvas, at the asked size, each the IIIF image at that size embedded as it is', async () => {
    const { response, file } = await pdf('/iiif/pdf/book?size=400');
    assert.equal(response.headers.get('content-type'), 'application/pdf');
    assert.equal(response.headers.get('content-disposition'), `inline; filename="book.pdf"; filename*=UTF-8''book.pdf`);
    assert.equal(response.headers.get('cache-control'), 'public, no-cache');
    assert.equal(response.headers.get('access-control-allow-origin'), '*');
    // 600×800 pages at 400 px on the longest side: 300×400 px, declared at 150 ppi.
    assert.deepEqual(await pageSizes(file), [1, 2, 3].map(() => ({ width: 144, height: 192 })));
    // The JPEG of every page is the bytes the Image API sends for that size: never re-encoded.
    await poppler('pdfimages', '-j', file, path.join(dir, 'book-image'));
    const extracted = (await readdir(dir)).filter((f) => f.startsWith('book-image')).sort();
    assert.equal(extracted.length, 3);
    for (const [i, name] of extracted.entries()) {
      assert.match(name, /\.jpg$/, 'embedded as JPEG (DCTDecode)');
      const iiif = Buffer.from(await (await fetch(`${base}/iiif/3/${encodeURIComponent(`book/p-00${i + 1}`)}/full/!400,400/0/default.jpg`)).arrayBuffer());
      assert.ok(iiif.equals(await readFile(path.join(dir, name))), `page ${i + 1}: the embedded JPEG differs from the IIIF image`);
    }
  });

  it('a page rendered by pdftoppm is pixel-close to the IIIF image: the text layer is invisible', async () => {
    const { file } = await pdf('/iiif/pdf/book?size=400');
    await poppler('pdftoppm', '-r', '150', '-f', '1', '-l', '1', '-png', file, path.join(dir, 'page'));
    const rendered = await decode(await readFile(path.join(dir, (await readdir(dir)).find((f) => /^page-0*1\.png$/.test(f))!)), 3);
    const iiif = await decode(Buffer.from(await (await fetch(`${base}/iiif/3/book%2Fp-001/full/!400,400/0/default.jpg`)).arrayBuffer()), 3);
    assert.equal(rendered.width, 300);
    assert.equal(rendered.height, 400);
    // Poppler resamples the grid's sharp edges a little (2.5 on average); visible glyphs add far more where they are.
    const half = (v: number): number => v / 2;
    for (const box of LINE_BOXES) {
      const at = (image: typeof rendered) => crop(image, half(box.x), half(box.y), half(box.w), half(box.h));
      const inText = meanAbsDiff(at(rendered), at(iiif));
      assert.ok(inText < 3.5, `mean absolute difference ${inText.toFixed(2)} inside a line of the text layer: the text is visible`);
    }
    const diff = meanAbsDiff(rendered, iiif);
    assert.ok(diff < 3.5, `mean absolute difference ${diff.toFixed(2)}: another image, or visible text`);

  });

  it('pdftotext finds the OCR text on its pages, where the OCR boxes are (ALTO) or on the page (plain text)', async () => {
    const { file } = await pdf('/iiif/pdf/book?size=400');
    const page = async (n: number): Promise<string> => (await poppler('pdftotext', '-f', String(n), '-l', String(n), file, '-')).replace(/\s+/g, ' ').trim();
    assert.equal(await page(1), 'Vitrine keeps letters safely Łódź & Émile');
    assert.equal(await page(2), 'Second page speaks plainly and goes on');
    assert.equal(await page(3), '');
    // Each line is stretched over its box: its first word starts and its last word ends at the box's edges.
    const scale = ptPerCanvasPx(400);
    const words = await wordsOnPage(file, 1);
    const lines = [words.slice(0, 4), words.slice(4)];
    for (const [i, line] of lines.entries()) {
      const box = LINE_BOXES[i]!;
      const near = (got: number, want: number, what: string): void => assert.ok(Math.abs(got - want) < 1.5, `line ${i + 1} ${what}: ${got} pt, expected ${want} pt`);
      near(line[0]!.xMin, box.x * scale, 'left');
      near(line[line.length - 1]!.xMax, (box.x + box.w) * scale, 'right');
      near(line[0]!.yMin, box.y * scale, 'top');
      near(line[0]!.yMax, (box.y + box.h) * scale, 'bottom');
    }
  });

  it('defaults to 1500 px (never upscaled), revalidates by ETag, and answers HEAD without building', async () => {
    const { response, file } = await pdf('/iiif/pdf/book');
    // 600×800 is under 1500 px: the whole image, 288×384 pt.
    assert.deepEqual((await pageSizes(file))[0], { width: 288, height: 384 });
    const etag = response.headers.get('etag')!;
    assert.match(etag, /^"/);
    const again = await fetch(`${base}/iiif/pdf/book`, { headers: { 'if-none-match': etag } });
    assert.equal(again.status, 304);
    const other = await fetch(`${base}/iiif/pdf/book?size=400`, { method: 'HEAD' });
    assert.equal(other.status, 200);
    assert.notEqual(other.headers.get('etag'), etag, 'another size is another document');
  });

  it('a degraded object gives its degraded size; a restricted one is refused like its images', async () => {
    const { response, file } = await pdf('/iiif/pdf/Maps/Map?size=1000');
    assert.equal(response.headers.get('cache-control'), 'private, no-cache');
    assert.match(response.headers.get('vary') ?? '', /Cookie/);
    // 600×450 degraded to 200 px: 200×150 px, 96×72 pt; the same pixels as the image route's `max`.
    assert.deepEqual(await pageSizes(file), [{ width: 96, height: 72 }]);
    await poppler('pdfimages', '-j', file, path.join(dir, 'map-image'));
    const embedded = await readFile(path.join(dir, (await readdir(dir)).find((f) => f.startsWith('map-image'))!));
    const iiif = Buffer.from(await (await fetch(`${base}/iiif/3/${encodeURIComponent('Maps/Map/001')}/full/max/0/default.jpg`)).arrayBuffer());
    assert.ok(embedded.equals(iiif), 'the degraded image, as the image route gives it to the same visitor');
    const denied = await fetch(`${base}/iiif/pdf/Fonds/Letter`);
    assert.equal(denied.status, 401);
    assert.match(await denied.text(), /^401 identifier 'Fonds\/Letter\/001': restricted/);
    assert.equal(denied.headers.get('cache-control'), 'no-store');
  });

  it('errors are clear: unknown object 404, bad size 400, withdrawn object 410', async () => {
    const unknown = await fetch(`${base}/iiif/pdf/nothing-here`);
    assert.equal(unknown.status, 404);
    assert.equal(await unknown.text(), "404 no object 'nothing-here' with pages in the catalog\n");
    for (const size of ['50', '99999', 'big']) {
      const bad = await fetch(`${base}/iiif/pdf/book?size=${size}`);
      assert.equal(bad.status, 400);
      assert.equal(await bad.text(), `400 size '${size}': give the longest side of the pages in pixels, from 100 to 3000\n`);
    }
    await pdf('/iiif/pdf/gone');
    const catalog = new Catalog(path.join(out, CATALOG_FILE));
    await catalog.withdrawObject('gone');
    catalog.close();
    const gone = await fetch(`${base}/iiif/pdf/gone`);
    assert.equal(gone.status, 410);
    assert.equal(await gone.text(), "410 object 'gone' was withdrawn\n");
  });

  it('/metrics counts PDFs, their pages and the pdf route kind', async () => {
    const scrape = async (): Promise<ReturnType<typeof parseExposition>> => parseExposition(await (await fetch(`${base}/metrics`)).text());
    const before = await scrape();
    await pdf('/iiif/pdf/book?size=200');
    const after = await scrape();
    assert.equal(valueOf(after, 'vitrine_pdf_pages_total') - valueOf(before, 'vitrine_pdf_pages_total'), 3);
    assert.equal(valueOf(after, 'vitrine_pdfs_total') - valueOf(before, 'vitrine_pdfs_total'), 1);
    assert.equal(valueOf(after, 'vitrine_http_requests_total', { kind: 'pdf', status: '200' }) - valueOf(before, 'vitrine_http_requests_total', { kind: 'pdf', status: '200' }), 1);
  });

  it('vitrine export writes a searchable PDF of every open object, and none of a degraded or restricted one', async () => {
    const site = path.join(dir, 'site');
    const origin = 'https://archive.example.org';
    const report = await exportStatic({ data: out, out: site, baseUrl: origin, workers: 1, pdfSize: 400 });
    assert.deepEqual(report.pdfs, { written: 1, skipped: 0 });
    const book = path.join(site, 'pdf', 'book.pdf');
    assert.deepEqual(await pageSizes(book), [1, 2, 3].map(() => ({ width: 144, height: 192 })));
    assert.match(await poppler('pdftotext', '-f', '1', '-l', '1', book, '-'), /Vitrine keeps letters safely/);
    assert.deepEqual(await readdir(path.join(site, 'pdf')), ['book.pdf']);
    const manifest = JSON.parse(await readFile(path.join(site, 'manifest', 'book.json'), 'utf8')) as Json;
    assert.deepEqual(manifest.rendering, [{ id: `${origin}/pdf/book.pdf`, type: 'Text', label: { en: ['PDF'] }, format: 'application/pdf' }]);
    const map = JSON.parse(await readFile(path.join(site, 'manifest', 'Maps', 'Map.json'), 'utf8')) as Json;
    assert.equal(map.rendering, undefined);
    const again = await exportStatic({ data: out, out: site, baseUrl: origin, workers: 1, pdfSize: 400 });
    assert.deepEqual(again.pdfs, { written: 0, skipped: 1 });
  });
});
