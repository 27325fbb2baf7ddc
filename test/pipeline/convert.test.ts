import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, open, readFile, readdir, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp, { type Sharp } from 'sharp';
import { Catalog } from '../../src/catalog/catalog.js';
import { Compression, readIfds } from '../../src/imaging/tiff/ifd.js';
import { handleReader } from '../../src/storage/file-bytes.js';
import { sha256File } from '../../src/pipeline/convert.js';
import type { ConversionReport } from '../../src/pipeline/run.js';
import { buildCorpus, expectedPage, pagePicture } from '../helpers/corpus.js';
import { assertSimilar, decode, fetchBytes } from '../helpers/pixels.js';
import { FIXTURES, startServer, tempDir } from '../helpers/server.js';
import { vitrine } from '../helpers/cli.js';

// Derivatives are rewritten under the same name during these tests: libvips must not serve a cached decode.
sharp.cache(false);
const level0 = (file: string): Sharp => sharp(file, { page: 0 });

describe('vitrine convert on a corpus of every flavour and defect', () => {
  let masters: string;
  let out: string;
  let cleanup: () => Promise<void>;
  let first: { code: number; stdout: string; stderr: string };
  let report: ConversionReport;
  let catalog: Catalog;

  before(async () => {
    const tmp = await tempDir();
    cleanup = tmp.cleanup;
    masters = path.join(tmp.dir, 'masters');
    out = path.join(tmp.dir, 'out');
    await buildCorpus(masters);
    first = await vitrine('convert', masters, '--out', out, '--json', '--workers', '2');
    report = JSON.parse(first.stdout) as ConversionReport;
    catalog = new Catalog(path.join(out, 'catalog.sqlite'), { readonly: true });
  });
  after(async () => {
    catalog.close();
    await cleanup();
  });

  it('exits 3 (pages failed), distinct from a usage error, and writes its report into the output folder', async () => {
    assert.equal(first.code, 3, first.stderr);
    assert.ok(report.reportPath?.startsWith(path.join(out, 'reports')));
    const written = JSON.parse(await readFile(report.reportPath!, 'utf8')) as ConversionReport;
    assert.deepEqual(written.totals, report.totals);
    // Every page's outcome is in the NDJSON file beside it, one line each as they finished, then the totals.
    assert.equal(report.pages, report.reportPath!.replace(/\.json$/, '.ndjson'));
    const lines = (await readFile(report.pages!, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const pages = lines.filter((l) => l.event === 'page');
    assert.equal(pages.length, report.totals.pages);
    assert.equal(pages.filter((p) => p.outcome === 'failed').length, report.totals.failed);
    assert.ok(pages.every((p) => typeof p.identifier === 'string' && typeof p.source === 'string'));
    assert.equal(lines.filter((l) => l.event === 'ignored').length, report.totals.ignored);
    assert.deepEqual(lines.at(-1), { event: 'totals', ...report.totals });
    assert.match(first.stderr, /failed: broken\/002\.tif: /);
  });

  it('reports each broken master by path with a reason, and converts everything else', () => {
    const failed = new Map(report.failed.map((f) => [f.source, f.reason]));
    assert.deepEqual([...failed.keys()].sort(), ['broken/002.tif', 'broken/003.tif', 'broken/004.jpg']);
    assert.equal(failed.get('broken/002.tif'), 'empty file (0 bytes)');
    assert.match(failed.get('broken/003.tif')!, /^truncated TIFF: .* beyond the end of the file/);
    assert.match(failed.get('broken/004.jpg')!, /^not an image: the content is text/);
    // 3 names + 3 sides + 2 plain + 11 flavour pages (one file has two) + 1 good broken/ page
    assert.equal(report.totals.converted, 20);
    assert.equal(report.totals.pages, 23);
    assert.equal(report.totals.skipped, 0);
  });

  it('lists junk and notes as ignored, not as errors', () => {
    const ignored = report.ignored.map((i) => i.relativePath);
    for (const junk of ['names/Thumbs.db', 'names/.DS_Store', 'names/._001.tif', 'names/notes.txt', 'broken/Thumbs.db']) {
      assert.ok(ignored.includes(junk), `${junk} ignored`);
    }
    assert.ok(!report.failed.some((f) => /Thumbs|DS_Store|\._/.test(f.source)));
  });

  it('reports the gap and the mixed naming patterns of a folder', () => {
    const names = report.anomalies.filter((a) => a.object === 'names');
    assert.ok(names.some((a) => a.kind === 'gap' && /2/.test(a.detail)), JSON.stringify(names));
    assert.ok(names.some((a) => a.kind === 'mixed-patterns'));
    assert.ok(!report.anomalies.some((a) => a.object === 'sides'), 'r/v sides are not anomalies');
  });

  it('orders pages by their sequence number whatever the spelling, sides r before v, page2 before page10', () => {
    const order = (object: string) => catalog.pages(object).map((p) => path.basename(p.sourcePath));
    assert.deepEqual(order('names'), ['fa002-box1-folder2-001.TIF', 'FA002_B1_F2_003.tif', 'fa002 box1 folder2 004.tif']);
    assert.deepEqual(order('sides'), ['001r.tif', '001v.tif', '002r.tif']);
    assert.deepEqual(order('plain'), ['page2.png', 'page10.png']);
    assert.deepEqual(
      catalog.pages('sides').map((p) => p.sequence),
      [1, 2, 3],
    );
  });

  it('records every page in the catalog: order, source, checksum, derivative and its pixel size', async () => {
    const objects = catalog.objects();
    assert.deepEqual(
      objects.map((o) => [o.id, o.pageCount]),
      [['broken', 1], ['flavours', 11], ['names', 3], ['plain', 2], ['sides', 3]],
    );
    for (const object of objects) {
      for (const page of catalog.pages(object.id)) {
        const meta = await sharp(page.derivativePath).metadata();
        assert.deepEqual([page.width, page.height], [meta.width, meta.height], page.identifier);
        assert.equal(page.sourceSha256, await sha256File(page.sourcePath));
        assert.equal((await stat(page.sourcePath)).size, page.sourceSize);
        assert.ok(page.derivativePath.startsWith(path.join(out, 'images')));
      }
    }
  });

  it('writes tiled pyramidal JPEG TIFFs whose pixels are the masters, in page order', async () => {
    const pages = catalog.pages('names');
    for (const [i, n] of [1, 3, 4].entries()) {
      const file = pages[i]!.derivativePath;
      const handle = await open(file, 'r');
      const ifds = await readIfds(handleReader(handle, (await handle.stat()).size)).finally(() => handle.close());
      assert.ok(ifds.length >= 2, 'a pyramid has reduced levels');
      for (const ifd of ifds) {
        assert.equal(ifd.compression, Compression.JPEG);
        assert.deepEqual([ifd.tileWidth, ifd.tileHeight], [256, 256]);
      }
      const got = await decode(level0(file), 3);
      assertSimilar(got, { width: 400, height: 300, channels: 3, data: await expectedPage(n) }, 3, `page ${n}`);
    }
  });

  it('converts every flavour into 8-bit sRGB or greyscale with the right pixels', async () => {
    const pages = new Map(catalog.pages('flavours').map((p) => [path.basename(p.identifier), p.derivativePath]));
    const rgb = async (id: string) => decode(level0(pages.get(id)!), 3);
    const want = async (n: number) => ({ width: 400, height: 300, channels: 3, data: await expectedPage(n) });
    assertSimilar(await rgb('01-lzw'), await want(1), 3, '8-bit LZW');
    assertSimilar(await rgb('02-rgb16'), await want(2), 3, '16-bit');
    assertSimilar(await rgb('06-jpeg-in-tiff'), await want(6), 4, 'JPEG-in-TIFF');
    assertSimilar(await rgb('08-two-pages-p001'), await want(8), 3, 'multi-page, page 1');
    assertSimilar(await rgb('08-two-pages-p002'), await want(9), 3, 'multi-page, page 2');
    assertSimilar(await rgb('09-exif-rotated'), await want(10), 4, 'EXIF orientation applied');

    const grey = await sharp(pages.get('03-grey')!).metadata();
    assert.equal(grey.channels, 1, 'greyscale stays greyscale');
    assertSimilar(await decode(level0(pages.get('03-grey')!), 1), await decode(pagePicture(3).toColourspace('b-w'), 1), 3, 'grey');
    const bitonal = await decode(level0(pages.get('04-bitonal-g4')!), 1);
    assertSimilar(bitonal, await decode(pagePicture(4).toColourspace('b-w').threshold(128), 1), 12, 'bitonal G4');

    // CMYK and a Display P3 profile come out as sRGB through their colour profiles.
    const cmyk = await rgb('05-cmyk');
    assertSimilar(cmyk, await decode(sharp(path.join(masters, 'flavours/05-cmyk.tif')).toColourspace('srgb'), 3), 3, 'CMYK → sRGB');
    assertSimilar(cmyk, await want(5), 20, 'CMYK → sRGB, against the RGB picture before its CMYK round trip');
    const p3 = await rgb('07-display-p3');
    const p3Master = path.join(masters, 'flavours/07-display-p3.tif');
    assertSimilar(p3, await decode(sharp(p3Master).toColourspace('srgb'), 3), 3, 'P3 colour-managed');
    assert.ok((await import('../helpers/pixels.js')).meanAbsDiff(p3, await want(7)) > 2, 'the profile was applied, not ignored');

    // Alpha at 50% flattened on white: each sample blends the picture and white by the alpha.
    const alphaMaster = await decode(sharp(path.join(masters, 'flavours/10-alpha.png')), 4);
    const blended = Buffer.alloc(400 * 300 * 3);
    for (let p = 0; p < 400 * 300; p++) {
      const alpha = alphaMaster.data[p * 4 + 3]! / 255;
      for (let c = 0; c < 3; c++) blended[p * 3 + c] = Math.round(alphaMaster.data[p * 4 + c]! * alpha + 255 * (1 - alpha));
    }
    assertSimilar(await rgb('10-alpha'), { width: 400, height: 300, channels: 3, data: blended }, 3, 'alpha flattened on white');
  });

  it('serves the derivatives with vitrine serve --data', async () => {
    const server = await startServer(undefined, { data: out });
    try {
      const page = catalog.pages('names')[1]!;
      const info = (await (await fetch(`${server.url}/iiif/3/${encodeURIComponent(page.identifier)}/info.json`)).json()) as { width: number; height: number };
      assert.deepEqual([info.width, info.height], [page.width, page.height]);
      const { body } = await fetchBytes(`${server.url}/iiif/3/${encodeURIComponent(page.identifier)}/full/max/0/default.png`);
      assertSimilar(await decode(body, 3), { width: 400, height: 300, channels: 3, data: await expectedPage(3) }, 3, 'served page');
    } finally {
      await server.close();
    }
  });

  it('re-run: skips unchanged pages without reading them, converts a changed one', async () => {
    const names = catalog.pages('names');
    const derivative = names[0]!.derivativePath;
    const before = (await stat(derivative)).mtimeMs;
    // Same size and mtime, different bytes: a re-run trusts size + mtime and does not re-read.
    const sneaky = names[1]!.sourcePath;
    const { size, mtime } = await stat(sneaky);
    const bytes = await readFile(sneaky);
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0xff;
    await writeFile(sneaky, bytes);
    await utimes(sneaky, mtime, mtime);
    assert.equal((await stat(sneaky)).size, size);
    // A really changed master: new content and mtime.
    const changed = names[2]!.sourcePath;
    await writeFile(changed, await pagePicture(5).tiff({ compression: 'lzw' }).toBuffer());

    const second = await vitrine('convert', masters, '--out', out, '--json');
    const again = JSON.parse(second.stdout) as ConversionReport;
    assert.equal(second.code, 3, 'the broken masters still fail');
    const pages = (await readFile(again.pages!, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { event: string; outcome?: string; source?: string });
    assert.deepEqual(pages.filter((p) => p.outcome === 'converted').map((p) => p.source), ['names/fa002 box1 folder2 004.tif']);
    assert.equal(again.totals.skipped, 19, second.stderr);
    assert.equal((await stat(derivative)).mtimeMs, before, 'unchanged derivative untouched');
    const fresh = new Catalog(path.join(out, 'catalog.sqlite'), { readonly: true });
    try {
      const page = fresh.pages('names')[2]!;
      assertSimilar(await decode(level0(page.derivativePath), 3), { width: 400, height: 300, channels: 3, data: await expectedPage(5) }, 3, 'reconverted');
    } finally {
      fresh.close();
    }
  });

  it('leaves no temporary file behind', async () => {
    assert.deepEqual(await readdir(path.join(out, '.tmp')), []);
  });
});

describe('vitrine convert usage', () => {
  it('--dry-run plans, reports anomalies and writes nothing', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      await buildCorpus(path.join(dir, 'masters'));
      const result = await vitrine('convert', path.join(dir, 'masters'), '--out', path.join(dir, 'out'), '--dry-run');
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, /would convert 23, skipped 0/);
      assert.match(result.stderr, /anomaly: names: gap/);
      assert.match(result.stderr, /ignored: names\/Thumbs\.db \(system file\)/);
      assert.equal(existsSync(path.join(dir, 'out')), false);
    } finally {
      await cleanup();
    }
  });

  it('--rules groups a flat folder into objects and orders their pages from the names', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const flat = path.join(dir, 'flat');
      const pages: [string, number][] = [['MS12_f002r.tif', 3], ['ms12_f001v.TIF', 2], ['MS12_f001r.tif', 1], ['MS7_f001r.tif', 4], ['scanner-log.tif', 5]];
      await mkdir(flat, { recursive: true });
      for (const [name, n] of pages) await pagePicture(n).tiff({ compression: 'lzw' }).toFile(path.join(flat, name));
      const rules = path.join(dir, 'rules.yml');
      await writeFile(rules, "rules:\n  - pattern: '^(?<object>ms\\d+)_f(?<sequence>\\d+)(?<side>[rv])\\.tif$'\n");
      const result = await vitrine('convert', flat, '--out', path.join(dir, 'out'), '--rules', rules, '--json');
      assert.equal(result.code, 0, result.stderr);
      const report = JSON.parse(result.stdout) as ConversionReport;
      assert.deepEqual(report.ignored, [{ relativePath: 'scanner-log.tif', reason: 'matches no naming rule' }]);
      const catalog = new Catalog(path.join(dir, 'out', 'catalog.sqlite'), { readonly: true });
      try {
        assert.deepEqual(catalog.objects().map((o) => [o.id, o.pageCount]), [['MS7', 1], ['MS12', 3]]);
        const ms12 = catalog.pages('MS12');
        assert.deepEqual(ms12.map((p) => path.basename(p.sourcePath)), ['MS12_f001r.tif', 'ms12_f001v.TIF', 'MS12_f002r.tif']);
        assertSimilar(await decode(level0(ms12[1]!.derivativePath), 3), { width: 400, height: 300, channels: 3, data: await expectedPage(2) }, 3, 'MS12 page 2');
      } finally {
        catalog.close();
      }
    } finally {
      await cleanup();
    }
  });

  it('converts the reference JPEG 2000 master next to other formats, with the pixels of the reference PNG', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const masters = path.join(dir, 'masters', 'box');
      await mkdir(masters, { recursive: true });
      await copyFile(path.join(FIXTURES, '67352ccc-d1b0-11e1-89ae-279075081939.jp2'), path.join(masters, '001.jp2'));
      await pagePicture(2).png().toFile(path.join(masters, '002.png'));
      const result = await vitrine('convert', path.join(dir, 'masters'), '--out', path.join(dir, 'out'), '--json');
      assert.equal(result.code, 0, result.stderr);
      const report = JSON.parse(result.stdout) as ConversionReport;
      assert.equal(report.totals.converted, 2);
      const got = await decode(level0(path.join(dir, 'out', 'images', 'box', '001.tif')), 3);
      const want = await decode(sharp(path.join(FIXTURES, '67352ccc-d1b0-11e1-89ae-279075081939.png')).flatten({ background: '#ffffff' }), 3);
      assertSimilar(got, want, 3, 'the JP2 master converted');
    } finally {
      await cleanup();
    }
  });

  it('exits 2 with a one-line reason on usage errors', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const cases: [string[], RegExp][] = [
        [['convert', dir], /--out/],
        [['convert', path.join(dir, 'nope'), '--out', dir], /does not exist/],
        [['convert', dir, '--out', dir, '--quality', '0'], /quality/],
        [['convert', dir, '--out', dir, '--rules', path.join(dir, 'missing.yml')], /not found/],
      ];
      for (const [args, reason] of cases) {
        const result = await vitrine(...args);
        assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
        assert.match(result.stderr, reason);
      }
    } finally {
      await cleanup();
    }
  });

  it('--help explains the convention, the exit codes and shows examples', async () => {
    const result = await vitrine('convert', '--help');
    assert.equal(result.code, 0);
    for (const text of ['One folder = one object', '--dry-run', '--rules', 'exit code', 'Examples:']) assert.ok(result.stdout.includes(text), text);
  });
});
