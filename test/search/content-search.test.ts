import assert from 'node:assert/strict';
import { mkdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runConversion, type ConversionReport } from '../../src/pipeline/run.js';
import { SqliteSearchIndex } from '../../src/search/sqlite-index.js';
import { pagePicture } from '../helpers/corpus.js';
import { assertValid3 } from '../helpers/presentation.js';
import { startServer, tempDir, type RunningServer } from '../helpers/server.js';

type Json = Record<string, any>;

/**
 * A small archive with OCR beside its masters (400×300 pixels each):
 *   book/p-001.tif + p-001.alto.xml   ALTO 3 measured on an 800×600 scan (boxes halve on the canvas)
 *   book/p-002.tif + p-002.hocr       hOCR of a 200×150 downscale (boxes double)
 *   book/p-003.tif + p-003.txt        plain text: no boxes
 *   other/q-001.tif + q-001.txt       the same phrase, in another object
 *   long/l-001.tif + l-001.txt        150 occurrences of one word (paging)
 */
const ALTO = `<?xml version="1.0" encoding="UTF-8"?>
<alto xmlns="http://www.loc.gov/standards/alto/ns-v3#">
  <Description><MeasurementUnit>pixel</MeasurementUnit></Description>
  <Layout><Page ID="p1" WIDTH="800" HEIGHT="600" PHYSICAL_IMG_NR="1"><PrintSpace>
    <TextBlock ID="b1">
      <TextLine ID="l1" HPOS="100" VPOS="100" WIDTH="500" HEIGHT="40">
        <String CONTENT="Letters" HPOS="100" VPOS="100" WIDTH="150" HEIGHT="40"/><SP/>
        <String CONTENT="of" HPOS="260" VPOS="100" WIDTH="40" HEIGHT="40"/><SP/>
        <String CONTENT="Jane" HPOS="310" VPOS="102" WIDTH="120" HEIGHT="38"/><SP/>
        <String CONTENT="Doe," HPOS="440" VPOS="100" WIDTH="110" HEIGHT="42"/>
      </TextLine>
      <TextLine ID="l2" HPOS="100" VPOS="200" WIDTH="500" HEIGHT="40">
        <String CONTENT="written" HPOS="100" VPOS="200" WIDTH="180" HEIGHT="40"/><SP/>
        <String CONTENT="from" HPOS="290" VPOS="200" WIDTH="100" HEIGHT="40"/><SP/>
        <String CONTENT="Lyon" HPOS="400" VPOS="200" WIDTH="120" HEIGHT="40"/><SP/>
        <String CONTENT="&amp; &#201;mile" HPOS="530" VPOS="200" WIDTH="150" HEIGHT="40"/>
      </TextLine>
    </TextBlock>
  </PrintSpace></Page></Layout>
</alto>
`;

const hocr = (verb: string): string => `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>p-002</title><meta name="ocr-system" content="tesseract 5.3.0"></head>
<body>
<div class="ocr_page" id="page_1" title="image &quot;p-002.tif&quot;; bbox 0 0 200 150; ppageno 0">
 <p class="ocr_par">
  <span class="ocr_line" id="line_1" title="bbox 10 10 120 25; baseline 0 -2">
   <span class="ocrx_word" id="w1" title="bbox 10 10 40 25; x_wconf 96">Jane</span>
   <span class="ocrx_word" id="w2" title="bbox 45 11 70 25; x_wconf 95"><strong>Doe</strong></span>
   <span class="ocrx_word" id="w3" title="bbox 75 10 120 25; x_wconf 91">${verb}</span>
  </span>
  <span class="ocr_line" id="line_2" title="bbox 10 40 100 55">
   <span class="ocrx_word" id="w4" title="bbox 10 40 25 55">in</span>
   <span class="ocrx_word" id="w5" title="bbox 30 40 65 55">Lyon</span>
   <span class="ocrx_word" id="w6" title="bbox 70 40 100 55">today</span>
  </span>
 </p>
</div>
</body></html>
`;

const TEXT_3 = 'No boxes here\nJane Doe again, once more\n';

async function writeCorpus(masters: string): Promise<void> {
  const tif = (n: number): Promise<Buffer> => pagePicture(n).tiff({ compression: 'lzw' }).toBuffer();
  const files: [string, string | Buffer][] = [
    ['book/p-001.tif', await tif(1)],
    ['book/p-001.alto.xml', ALTO],
    ['book/p-002.tif', await tif(2)],
    ['book/p-002.hocr', hocr('arrived')],
    ['book/p-003.tif', await tif(3)],
    ['book/p-003.txt', TEXT_3],
    ['book/notes.txt', 'not a sidecar: no master is called notes\n'],
    ['other/q-001.tif', await tif(4)],
    ['other/q-001.txt', 'Jane Doe elsewhere\n'],
    ['long/l-001.tif', await tif(5)],
    ['long/l-001.txt', Array.from({ length: 15 }, () => 'echo echo echo echo echo echo echo echo echo echo').join('\n')],
  ];
  for (const [name, content] of files) {
    await mkdir(path.dirname(path.join(masters, name)), { recursive: true });
    await writeFile(path.join(masters, name), content);
  }
}

const convert = (masters: string, out: string): Promise<ConversionReport> =>
  runConversion({ masters, out, workers: 1, dryRun: false, settings: { format: 'ptiff', quality: 85, tileSize: 256, maxInputPixels: 100_000_000 } });

async function getJson(url: string): Promise<{ status: number; body: Json; headers: Headers }> {
  const response = await fetch(url);
  const text = await response.text();
  return { status: response.status, body: response.status === 200 ? (JSON.parse(text) as Json) : { text }, headers: response.headers };
}

/** The ALTO box (x, y, w, h on the 800×600 scan) on the 400×300 canvas: halved, rounded outward. */
const half = (x: number, y: number, w: number, h: number): number[] => {
  const x0 = Math.floor(x / 2);
  const y0 = Math.floor(y / 2);
  return [x0, y0, Math.ceil((x + w) / 2) - x0, Math.ceil((y + h) / 2) - y0];
};
const xywh = (target: string): number[] => /#xywh=(\d+),(\d+),(\d+),(\d+)$/.exec(target)!.slice(1).map(Number);

describe('Content Search 1.0 and 2.0 over OCR sidecars (ALTO, hOCR, plain text)', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let masters: string;
  let out: string;
  let report: ConversionReport;
  let server: RunningServer;
  let base: string;
  const canvas = (id: string): string => `${base}/iiif/canvas/${id}`;

  before(async () => {
    ({ dir, cleanup } = await tempDir('vitrine-search-'));
    masters = path.join(dir, 'masters');
    out = path.join(dir, 'out');
    await writeCorpus(masters);
    report = await convert(masters, out);
    server = await startServer(undefined, { data: out });
    base = server.url;
  });
  after(async () => {
    await server?.close();
    await cleanup();
  });

  it('converts the masters and takes their sidecars as part of the pages, not as ignored files or masters', () => {
    assert.equal(report.totals.failed, 0, JSON.stringify(report.failed));
    assert.equal(report.totals.pages, 5);
    assert.deepEqual(
      report.ignored.map((i) => i.relativePath),
      ['book/notes.txt'],
    );
    assert.deepEqual(report.anomalies.filter((a) => a.kind === 'ocr'), []);
  });

  it('Search 1.0: a phrase is found on the right canvases, with boxes of the scaled sidecar coordinates', async () => {
    const { status, body, headers } = await getJson(`${base}/iiif/search/1/book?q=${encodeURIComponent('"Jane Doe"')}`);
    assert.equal(status, 200, body.text);
    assert.equal(headers.get('access-control-allow-origin'), '*');
    assert.deepEqual(body['@context'], ['http://iiif.io/api/presentation/2/context.json', 'http://iiif.io/api/search/1/context.json']);
    assert.equal(body['@type'], 'sc:AnnotationList');
    assert.equal(body.within['@type'], 'sc:Layer');
    assert.equal(body.within.total, 3);
    assert.equal(body.startIndex, 0);
    assert.equal(body.next, undefined);
    const on = body.resources.map((r: Json) => r.on as string);
    assert.deepEqual(on.map((t: string) => t.replace(/#.*$/, '')), [canvas('book/p-001'), canvas('book/p-002'), canvas('book/p-003')]);
    for (const r of body.resources) {
      assert.equal(r['@type'], 'oa:Annotation');
      assert.equal(r.motivation, 'sc:painting');
      assert.equal(r.resource['@type'], 'cnt:ContentAsText');
    }
    // ALTO (800×600 scan → 400×300 canvas): the union of Jane (310,102,120,38) and Doe, (440,100,110,42), halved.
    const jane = half(310, 102, 120, 38);
    const doe = half(440, 100, 110, 42);
    assert.deepEqual(xywh(on[0]), [jane[0], doe[1], doe[0]! + doe[2]! - jane[0]!, Math.max(jane[1]! + jane[3]!, doe[1]! + doe[3]!) - doe[1]!]);
    // hOCR (200×150 → 400×300): Jane 10,10–40,25 and Doe 45,11–70,25, doubled.
    assert.deepEqual(xywh(on[1]), [20, 20, 120, 30]);
    // Plain text: no coordinates, the whole canvas.
    assert.equal(on[2], canvas('book/p-003'));
    assert.deepEqual(
      body.hits.map((h: Json) => [h['@type'], h.match, h.before, h.after]),
      [
        ['search:Hit', 'Jane Doe,', 'Letters of ', ' written from Lyon & Émile'],
        ['search:Hit', 'Jane Doe', '', ' arrived in Lyon today'],
        ['search:Hit', 'Jane Doe', 'No boxes here ', ' again, once more'],
      ],
    );
    assert.deepEqual(body.hits[0].annotations, [body.resources[0]['@id']]);
  });

  it('Search 1.0: words found case- and accent-insensitively; several words find each of them on pages having all', async () => {
    const emile = (await getJson(`${base}/iiif/search/1/book?q=emile`)).body;
    assert.equal(emile.within.total, 1);
    assert.deepEqual(xywh(emile.resources[0].on), half(530, 200, 150, 40));
    const both = (await getJson(`${base}/iiif/search/1/book?q=lyon%20doe`)).body;
    assert.equal(both.within.total, 4, 'counted from the pages\' token streams, as many as listed');
    // p-001 and p-002 have both words; p-003 has Doe only.
    assert.deepEqual(
      both.hits.map((h: Json) => h.match),
      ['Doe,', 'Lyon', 'Doe', 'Lyon'],
    );
    assert.ok(both.resources.every((r: Json) => !String(r.on).startsWith(canvas('book/p-003'))));
    // A phrase that is not in the text.
    assert.equal((await getJson(`${base}/iiif/search/1/book?q=${encodeURIComponent('"Doe Jane"')}`)).body.within.total, 0);
    // Another object's text is not this one's.
    const other = (await getJson(`${base}/iiif/search/1/other?q=jane`)).body;
    assert.deepEqual(other.resources.map((r: Json) => r.on), [canvas('other/q-001')]);
  });

  it('Search 2.0: the same hits as an AnnotationPage with highlighting annotations, partOf total and match context', async () => {
    const { status, body } = await getJson(`${base}/iiif/search/2/book?q=${encodeURIComponent('"jane doe"')}&motivation=painting&user=x`);
    assert.equal(status, 200, body.text);
    assert.equal(body['@context'], 'http://iiif.io/api/search/2/context.json');
    assert.equal(body.type, 'AnnotationPage');
    assert.equal(body.partOf.type, 'AnnotationCollection');
    assert.equal(body.partOf.total, 3);
    assert.equal(body.partOf.first.type, 'AnnotationPage');
    assert.deepEqual(body.ignored, ['motivation', 'user']);
    assert.deepEqual(
      body.items.map((a: Json) => [a.type, a.motivation, a.body.type, a.body.value]),
      [
        ['Annotation', 'highlighting', 'TextualBody', 'Jane Doe,'],
        ['Annotation', 'highlighting', 'TextualBody', 'Jane Doe'],
        ['Annotation', 'highlighting', 'TextualBody', 'Jane Doe'],
      ],
    );
    assert.deepEqual(xywh(body.items[1].target), [20, 20, 120, 30]);
    assert.equal(body.items[2].target, canvas('book/p-003'));
    const context = body.annotations[0].items as Json[];
    assert.equal(context.length, 3);
    assert.equal(context[1]!.motivation, 'contextualizing');
    assert.equal(context[1]!.target.type, 'SpecificResource');
    assert.equal(context[1]!.target.source, body.items[1].id);
    assert.deepEqual(context[1]!.target.selector, [{ type: 'TextQuoteSelector', prefix: '', exact: 'Jane Doe', suffix: ' arrived in Lyon today' }]);
  });

  it('pages results with next/prev and startIndex, and reports ignored parameters (1.0 within.ignored)', async () => {
    const first = (await getJson(`${base}/iiif/search/1/long?q=echo&date=x`)).body;
    assert.equal(first.within.total, 150);
    assert.deepEqual(first.within.ignored, ['date']);
    assert.equal(first.resources.length, 100);
    assert.equal(first.prev, undefined);
    assert.equal(first.within.last, `${base}/iiif/search/1/long?q=echo&page=2`);
    const second = (await getJson(first.next)).body;
    assert.equal(second.resources.length, 50);
    assert.equal(second.startIndex, 100);
    assert.equal(second.next, undefined);
    assert.equal(second.prev, `${base}/iiif/search/1/long?q=echo&page=1`);
    const v2 = (await getJson(`${base}/iiif/search/2/long?q=echo&page=2`)).body;
    assert.equal(v2.items.length, 50);
    assert.equal(v2.prev.id, `${base}/iiif/search/2/long?q=echo&page=1`);
    assert.equal((await getJson(`${base}/iiif/search/2/long?q=echo&page=3`)).status, 404);
  });

  it('autocomplete 1.0 and 2.0 return the terms starting with q, with their counts', async () => {
    const v1 = (await getJson(`${base}/iiif/search/1/book/autocomplete?q=Ja`)).body;
    assert.equal(v1['@type'], 'search:TermList');
    assert.equal(v1['@context'], 'http://iiif.io/api/search/1/context.json');
    assert.deepEqual(v1.terms, [{ match: 'jane', url: `${base}/iiif/search/1/book?q=jane`, count: 3 }]);
    const v2 = (await getJson(`${base}/iiif/search/2/book/autocomplete?q=l&motivation=painting`)).body;
    assert.equal(v2.type, 'TermPage');
    assert.deepEqual(v2.ignored, ['motivation']);
    assert.deepEqual(v2.items, [
      { value: 'letters', total: 1 },
      { value: 'lyon', total: 2 },
    ]);
    assert.deepEqual((await getJson(`${base}/iiif/search/2/long/autocomplete?q=ec&min=151`)).body.items, []);
    assert.equal((await getJson(`${base}/iiif/search/1/book/autocomplete`)).status, 400);
  });

  it('rejects bad requests with a status and a reason naming the part', async () => {
    const long = await getJson(`${base}/iiif/search/1/book?q=${'a'.repeat(501)}`);
    assert.equal(long.status, 400);
    assert.match(long.body.text, /q: 501 characters/);
    assert.equal((await getJson(`${base}/iiif/search/1/nothing-here?q=a`)).status, 404);
    assert.match((await getJson(`${base}/iiif/search/1/book?q=a&page=zero`)).body.text, /page: 'zero'/);
    // No q: no hits (an empty query searches nothing).
    assert.equal((await getJson(`${base}/iiif/search/1/book`)).body.within.total, 0);
  });

  it('manifests declare Search 2.0 and 1.0 services, and canvases link their OCR file and text annotations', async () => {
    const m3 = (await getJson(`${base}/iiif/manifest/book`)).body;
    assertValid3(m3, 'book manifest');
    assert.deepEqual(m3.service[0], {
      id: `${base}/iiif/search/2/book`,
      type: 'SearchService2',
      service: [{ id: `${base}/iiif/search/2/book/autocomplete`, type: 'AutoCompleteService2' }],
    });
    assert.equal(m3.service[1].profile, 'http://iiif.io/api/search/1/search');
    assert.equal(m3.service[1]['@id'], `${base}/iiif/search/1/book`);
    assert.equal(m3.service[1].service[0].profile, 'http://iiif.io/api/search/1/autocomplete');
    const [c1, c2, c3] = m3.items as Json[];
    assert.equal(c1!.seeAlso[0].profile, 'http://www.loc.gov/standards/alto/v3/alto.xsd');
    assert.equal(c2!.seeAlso[0].profile, 'http://kba.github.io/hocr-spec/1.2/');
    assert.equal(c3!.seeAlso[0].format, 'text/plain');
    const alto = await fetch(c1!.seeAlso[0].id);
    assert.equal(await alto.text(), ALTO);
    assert.match(alto.headers.get('content-type') ?? '', /^application\/xml/);
    const lines = (await getJson(c2!.annotations[0].id)).body;
    assert.equal(lines.type, 'AnnotationPage');
    assert.deepEqual(
      lines.items.map((a: Json) => [a.motivation, a.body.value, a.target]),
      [
        ['supplementing', 'Jane Doe arrived', `${canvas('book/p-002')}#xywh=20,20,220,30`],
        ['supplementing', 'in Lyon today', `${canvas('book/p-002')}#xywh=20,80,180,30`],
      ],
    );
    const m2 = (await getJson(`${base}/iiif/presentation/2/manifest/book`)).body;
    assert.equal(m2.service.profile, 'http://iiif.io/api/search/1/search');
    assert.equal(m2.service.service.profile, 'http://iiif.io/api/search/1/autocomplete');
    assert.equal(m2.sequences[0].canvases[0].otherContent[0]['@type'], 'sc:AnnotationList');
  });

  it('searches every object at once (1.0 and 2.0), paged by canvases; the top collection declares it', async () => {
    const v2 = (await getJson(`${base}/iiif/search/2?q=${encodeURIComponent('"jane doe"')}&motivation=painting`)).body;
    assert.equal(v2['@context'], 'http://iiif.io/api/search/2/context.json');
    assert.equal(v2.type, 'AnnotationPage');
    assert.equal(v2.id, `${base}/iiif/search/2?q=%22jane%20doe%22&page=1`);
    assert.deepEqual(v2.ignored, ['motivation']);
    assert.equal(v2.partOf.type, 'AnnotationCollection');
    assert.equal(v2.partOf.total, undefined, 'hits in all are not counted archive-wide');
    assert.equal(v2.partOf.last.id, `${base}/iiif/search/2?q=%22jane%20doe%22&page=1`);
    // Both objects' pages: book's three and other's one, each hit on its own canvas.
    const targets = v2.items.map((a: Json) => String(a.target).replace(/#.*$/, '')).sort();
    assert.deepEqual(targets, [canvas('book/p-001'), canvas('book/p-002'), canvas('book/p-003'), canvas('other/q-001')]);
    const hocrHit = v2.items.find((a: Json) => String(a.target).startsWith(`${canvas('book/p-002')}#`));
    assert.deepEqual(xywh(hocrHit.target), [20, 20, 120, 30], 'the same boxes as the object search');
    assert.equal(v2.annotations[0].items.length, 4);

    const v1 = (await getJson(`${base}/iiif/search/1?q=elsewhere`)).body;
    assert.equal(v1['@type'], 'sc:AnnotationList');
    assert.deepEqual(v1.resources.map((r: Json) => r.on), [canvas('other/q-001')]);
    assert.deepEqual(v1.hits.map((h: Json) => [h.match, h.before]), [['elsewhere', 'Jane Doe ']]);
    assert.equal(v1.within.total, undefined);
    assert.equal((await getJson(`${base}/iiif/search/1?q=nowhere`)).body.resources.length, 0);
    assert.equal((await getJson(`${base}/iiif/search/2?q=jane&page=2`)).status, 404);
    assert.match((await getJson(`${base}/iiif/search/2?q=jane&page=0`)).body.text, /page: '0'/);

    const top3 = (await getJson(`${base}/iiif/collection/top`)).body;
    assertValid3(top3, 'top collection');
    const services = top3.service as Json[];
    assert.deepEqual(services.find((s) => s.type === 'SearchService2'), { id: `${base}/iiif/search/2`, type: 'SearchService2' });
    assert.equal(services.find((s) => s.profile === 'http://iiif.io/api/search/1/search')?.['@id'], `${base}/iiif/search/1`);
    assert.ok(services.some((s) => s.type === 'OrderedCollection'), 'the Change Discovery stream is still there');
    const top2 = (await getJson(`${base}/iiif/presentation/2/collection/top`)).body;
    assert.deepEqual((top2.service as Json[]).map((s) => s.profile), ['http://iiif.io/api/discovery/1/context.json', 'http://iiif.io/api/search/1/search']);
    // A sub-collection does not declare it.
    assert.equal((await getJson(`${base}/iiif/collection/book`)).status, 404);
  });

  it('the full-text search page lists object, page label, the words in context, and Mirador opened at that canvas', async () => {
    const home = await (await fetch(`${base}/`)).text();
    assert.match(home, /<form class="search text-search" role="search" aria-label="Full text" action="[^"]*\/search"/);
    assert.match(home, /Search objects by label/, 'the label search stays');
    const response = await fetch(`${base}/search?q=${encodeURIComponent('"jane doe"')}`);
    assert.equal(response.status, 200);
    const page = await response.text();
    assert.match(page, /Found on 4 pages\./);
    const titles = [...page.matchAll(/<h2 class="text-hit-title"><a href="([^"]*)">([^<]*)<\/a>/g)].map((m) => [m[2], m[1]!.replaceAll('&amp;', '&')]);
    const mirador = (object: string, id: string): string =>
      `${base}/viewer/mirador?manifest=${encodeURIComponent(`${base}/iiif/manifest/${object}`)}&canvas=${encodeURIComponent(canvas(id))}&search=${encodeURIComponent('"jane doe"')}`;
    assert.deepEqual(titles.sort(), [
      ['book, page 1', mirador('book', 'book/p-001')],
      ['book, page 2', mirador('book', 'book/p-002')],
      ['book, page 3', mirador('book', 'book/p-003')],
      ['other, page 1', mirador('other', 'other/q-001')],
    ]);
    assert.match(page, /<li class="snippet">…Letters of <mark>Jane Doe,<\/mark> written from Lyon &amp; Émile…<\/li>/);
    assert.match(await (await fetch(`${base}/search?q=zzzz`)).text(), /No page&#39;s text has “zzzz”\./);
  });

  it('indexes incrementally: an unchanged run leaves the text; an edited sidecar is read again, a removed one takes its text away', async () => {
    const state = (id: string) => {
      const index = new SqliteSearchIndex(path.join(out, 'catalog.sqlite'), { readonly: true });
      try {
        return index.pageState(id);
      } finally {
        index.close();
      }
    };
    const before2 = state('book/p-002');
    const again = await convert(masters, out);
    assert.equal(again.totals.converted, 0);
    assert.deepEqual(state('book/p-002'), before2, 'an unchanged page and sidecar are not indexed again');

    await writeFile(path.join(masters, 'book/p-002.hocr'), hocr('departed'));
    const later = new Date(Date.now() + 5000);
    await utimes(path.join(masters, 'book/p-002.hocr'), later, later);
    await rm(path.join(masters, 'book/p-003.txt'));
    const third = await convert(masters, out);
    assert.equal(third.totals.converted, 0, 'the images are unchanged');
    assert.notDeepEqual(state('book/p-002'), before2);
    assert.equal((await getJson(`${base}/iiif/search/1/book?q=arrived`)).body.within.total, 0);
    const departed = (await getJson(`${base}/iiif/search/1/book?q=departed`)).body;
    assert.deepEqual(departed.resources.map((r: Json) => r.on), [`${canvas('book/p-002')}#xywh=150,20,90,30`]);
    assert.equal((await getJson(`${base}/iiif/search/1/book?q=${encodeURIComponent('"jane doe"')}`)).body.within.total, 2);
    assert.equal((await getJson(`${base}/iiif/text/book/p-003`)).status, 404);
    const manifest = (await getJson(`${base}/iiif/manifest/book`)).body;
    assert.equal(manifest.items[2].seeAlso, undefined);
    assert.equal(await readFile(path.join(masters, 'book/p-001.alto.xml'), 'utf8'), ALTO);
  });

  it("withdrawing an object takes its text out of the index: the archive-wide search no longer finds it", async () => {
    const phrase = encodeURIComponent('"jane doe"');
    const pagesFound = async (): Promise<string[]> =>
      ((await getJson(`${base}/iiif/search/2?q=${phrase}&motivation=highlighting`)).body.items as Json[]).map((a) => String(a.target.source ?? a.target).replace(/#.*/, ''));
    assert.ok((await pagesFound()).includes(canvas('other/q-001')), 'found before the withdrawal');
    await rm(path.join(masters, 'other'), { recursive: true });
    const run = await convert(masters, out);
    assert.deepEqual(run.withdrawn, ['other']);
    const index = new SqliteSearchIndex(path.join(out, 'catalog.sqlite'), { readonly: true });
    try {
      assert.equal(index.pageState('other/q-001'), undefined, 'its page has no text left in the index');
    } finally {
      index.close();
    }
    assert.ok(!(await pagesFound()).includes(canvas('other/q-001')));
    assert.ok((await pagesFound()).includes(canvas('book/p-001')), 'the other objects are still found');
  });
});
