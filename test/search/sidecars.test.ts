import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { runConversion } from '../../src/pipeline/run.js';
import { scanMasters } from '../../src/pipeline/scan.js';
import { SqliteSearchIndex } from '../../src/search/sqlite-index.js';
import { pagePicture } from '../helpers/corpus.js';
import { parseAlto } from '../../src/search/alto.js';
import { parseHocr } from '../../src/search/hocr.js';
import { scaleToCanvas, SidecarError } from '../../src/search/model.js';
import { parsePlainText } from '../../src/search/plain-text.js';
import { parseQuery, tokens } from '../../src/search/tokens.js';
import { tempDir } from '../helpers/server.js';

const words = (text: { lines: readonly { words: readonly { text: string }[] }[] }): string[][] => text.lines.map((l) => l.words.map((w) => w.text));

describe('OCR sidecars: parsing, scaling, pairing with masters', () => {
  it('reads ALTO with a namespace prefix and mm10 units, scaled to the canvas by the declared page size', () => {
    const alto = parseAlto(
      `<alto:alto xmlns:alto="http://www.loc.gov/standards/alto/ns-v4#"><alto:Description><alto:MeasurementUnit>mm10</alto:MeasurementUnit></alto:Description>
       <alto:Layout><alto:Page WIDTH="2100" HEIGHT="2970"><alto:PrintSpace><alto:TextBlock>
       <alto:TextLine><alto:String CONTENT="Caf&#233;" HPOS="210" VPOS="297" WIDTH="420" HEIGHT="99"/><alto:SP/><alto:String CONTENT="noir"/></alto:TextLine>
       </alto:TextBlock></alto:PrintSpace></alto:Page></alto:Layout></alto:alto>`,
      'a.xml',
    );
    assert.equal(alto.version, '4');
    assert.deepEqual(words(alto), [['Café', 'noir']]);
    const scaled = scaleToCanvas(alto, { width: 1000, height: 1414 });
    // 210 mm10 of 2100 → 100 px of 1000; 297 of 2970 → 141.4 → 141 (rounded outward).
    assert.deepEqual(scaled.lines[0]!.words[0]!.box, { x: 100, y: 141, w: 200, h: 48 });
    assert.equal(scaled.lines[0]!.words[1]!.box, undefined, 'a String without coordinates has no box');
  });

  it('rejects what is not ALTO, truncated files, and units it cannot scale, naming the file', () => {
    assert.throws(() => parseAlto('<mets:mets xmlns:mets="http://www.loc.gov/METS/"/>', 'm.xml'), (e: Error) => e instanceof SidecarError && /m\.xml: not ALTO \(the root element is <mets>\)/.test(e.message));
    assert.throws(() => parseAlto('<alto><Layout><Page WIDTH="1" HEIGHT="1"><String CONTENT="a', 't.xml'), /t\.xml: not well-formed: unterminated tag/);
    assert.throws(() => parseAlto('<alto><Description><MeasurementUnit>inch1200</MeasurementUnit></Description><Layout><Page/></Layout></alto>', 'u.xml'), /coordinates in inch1200 but the Page has no WIDTH\/HEIGHT/);
  });

  it('reads hOCR written as loose HTML: unclosed paragraphs, void elements, entities, scripts', () => {
    const hocr = parseHocr(
      `<html><head><meta charset=utf-8><script>var x = "<span class='ocrx_word'>no</span>";</script></head><body>
       <div class='ocr_page' title='bbox 0 0 100 50'><p class=ocr_par>
       <span class='ocr_line' title="bbox 0 0 100 10"><span class='ocrx_word' title='bbox 0 0 20 10; x_wconf 90'>A&amp;B</span><br>
       <span class='ocrx_word' title='bbox 25 0 60 10'><em>sh</em>ip</span></span>
       <p><span class="ocrx_line" title="bbox 0 20 50 30"><span class="ocrx_word" title="bbox 0 20 50 30">next</span></span>
       </div></body></html>`,
      'p.hocr',
    );
    assert.deepEqual(hocr.size, { width: 100, height: 50 });
    assert.deepEqual(words(hocr), [['A&B', 'ship'], ['next']]);
    assert.deepEqual(hocr.lines[0]!.words[1]!.box, { x: 25, y: 0, w: 35, h: 10 });
    assert.throws(() => parseHocr('<html><body><p>plain html</p></body></html>', 'x.html'), /x\.html: not hOCR/);
  });

  it('reads plain text as lines without boxes', () => {
    const text = parsePlainText('\uFEFFfirst  line\r\n\r\nsecond\tline\n');
    assert.deepEqual(words(text), [['first', 'line'], ['second', 'line']]);
    assert.equal(text.lines[0]!.words[0]!.box, undefined);
  });

  it('normalizes words and queries alike: case, accents, punctuation; quotes make a phrase', () => {
    assert.deepEqual(tokens('Émile, DOE; jane-doe ﬁne'), ['emile', 'doe', 'jane', 'doe', 'fine']);
    assert.deepEqual(parseQuery('"Jane  Doe"'), { terms: ['jane', 'doe'], phrase: true });
    assert.deepEqual(parseQuery('jane doe'), { terms: ['jane', 'doe'], phrase: false });
    assert.equal(parseQuery(' ,; '), undefined);
  });

  it('pairs each master with its sidecar (ALTO before hOCR before text); the others stay ignored, saying why', async () => {
    const { dir, cleanup } = await tempDir('vitrine-sidecars-');
    try {
      const box = path.join(dir, 'box');
      await mkdir(box);
      for (const name of ['001.tif', '001.txt', '001.alto.xml', '002.TIF', '002.HOCR', 'readme.txt', '003.xml']) await writeFile(path.join(box, name), 'x');
      const scan = await scanMasters(dir);
      assert.deepEqual(
        scan.masters.map((m) => [m.relativePath, m.ocr?.relativePath, m.ocr?.format]),
        [
          ['box/001.tif', 'box/001.alto.xml', 'alto'],
          ['box/002.TIF', 'box/002.HOCR', 'hocr'],
        ],
      );
      assert.deepEqual(scan.ignored, [
        { relativePath: 'box/001.txt', reason: 'OCR sidecar not used: 001.alto.xml is read for this page' },
        { relativePath: 'box/003.xml', reason: 'note or document' },
        { relativePath: 'box/readme.txt', reason: 'note or document' },
      ]);
    } finally {
      await cleanup();
    }
  });

  it('convert reports a sidecar it cannot read as an ocr anomaly, converts the page, and indexes no text for it', async () => {
    const { dir, cleanup } = await tempDir('vitrine-sidecars-');
    try {
      const masters = path.join(dir, 'masters');
      await mkdir(path.join(masters, 'box'), { recursive: true });
      await writeFile(path.join(masters, 'box/001.tif'), await pagePicture(1, 64, 48).tiff().toBuffer());
      await writeFile(path.join(masters, 'box/001.xml'), '<alto><Layout><Page WIDTH="64" HEIGHT="48"><TextLine><String CONTENT="cut');
      const out = path.join(dir, 'out');
      const report = await runConversion({ masters, out, workers: 1, dryRun: false, settings: { format: 'ptiff', quality: 85, tileSize: 256, maxInputPixels: 1e8 } });
      assert.equal(report.totals.converted, 1);
      assert.deepEqual(report.anomalies, [{ object: 'box', kind: 'ocr', detail: 'box/001.xml: not well-formed: unterminated tag at character 53' }]);
      const index = new SqliteSearchIndex(path.join(out, 'catalog.sqlite'), { readonly: true });
      assert.equal(index.pageState('box/001'), undefined);
      index.close();
    } finally {
      await cleanup();
    }
  });
});
