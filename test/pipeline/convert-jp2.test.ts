import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp, { type Sharp } from 'sharp';
import { Catalog } from '../../src/catalog/catalog.js';
import { jp2Resolutions } from '../../src/imaging/jp2/encode.js';
import type { ConversionReport } from '../../src/pipeline/run.js';
import { CLI, vitrine } from '../helpers/cli.js';
import { pagePicture } from '../helpers/corpus.js';
import { opjDecode, opjDump, opjSettings, run } from '../helpers/opj.js';
import { requireNative } from '../helpers/native.js';
import { decode, fetchBytes, meanAbsDiff, type Pixels } from '../helpers/pixels.js';
import { REFERENCE_PNG, startServer, tempDir } from '../helpers/server.js';

sharp.cache(false);

/** The masters: tiles and edge tiles, greyscale, 16-bit, alpha, EXIF rotation, a long strip needing 7 levels. */
async function buildMasters(root: string): Promise<void> {
  const write = async (name: string, image: Sharp): Promise<void> => {
    await mkdir(path.dirname(path.join(root, name)), { recursive: true });
    await image.toFile(path.join(root, name));
  };
  // 3 × 2 tiles of 1024, the last column and row partial.
  await write('book/page-001.tif', sharp(REFERENCE_PNG).removeAlpha().resize(2500, 1400, { fit: 'fill' }).tiff({ compression: 'lzw' }));
  await write('book/page-002.tif', pagePicture(2).toColourspace('b-w').tiff({ compression: 'lzw' }));
  await write('book/page-003.tif', pagePicture(3).toColourspace('rgb16').tiff({ compression: 'deflate' }));
  await write('book/page-004.png', pagePicture(4).ensureAlpha(0.5).png());
  await write('book/page-005.jpg', pagePicture(5).rotate(-90).jpeg({ quality: 95 }).withMetadata({ orientation: 6 }));
  // 9000 px long: 9000 / 2^5 > 256, so a 7th level; 9 tiles across in one short strip.
  await write('book/page-006.tif', sharp(REFERENCE_PNG).removeAlpha().resize(9000, 64, { fit: 'fill' }).tiff({ compression: 'lzw' }));
  // A JPEG cut short: libvips fails while the pixels are already streaming to the encoder.
  const whole = await sharp(REFERENCE_PNG).removeAlpha().resize(3000, 2000).jpeg({ quality: 90 }).toBuffer();
  await mkdir(path.join(root, 'broken'), { recursive: true });
  await writeFile(path.join(root, 'broken/001.jpg'), whole.subarray(0, Math.floor(whole.length * 0.6)));
  await write('broken/002.tif', pagePicture(1).tiff({ compression: 'lzw' }));
}

/** What the derivative of a master should show: the 8-bit sRGB or grey pixels of the conversion. */
async function expected(master: string, grey = false): Promise<Pixels> {
  const image = sharp(master, { autoOrient: true }).flatten({ background: '#ffffff' });
  return decode(image, grey ? 1 : 3);
}

/** The JP2 colr box's enumerated colour space, and the markers of the codestream's main header and first tile-part header. */
async function boxesAndMarkers(file: string): Promise<{ colourSpace: number; main: number[]; firstTilePart: number[] }> {
  const bytes = await readFile(file);
  const colr = bytes.indexOf('colr', 0, 'latin1');
  assert.ok(colr > 0, 'a colr box');
  assert.equal(bytes[colr + 4], 1, 'enumerated colour space');
  const colourSpace = bytes.readUInt32BE(colr + 7);
  const jp2c = bytes.indexOf('jp2c', 0, 'latin1');
  let at = jp2c + 4;
  assert.equal(bytes.readUInt16BE(at), 0xff4f, 'SOC');
  at += 2;
  const main: number[] = [];
  while (bytes.readUInt16BE(at) !== 0xff90) {
    main.push(bytes.readUInt16BE(at));
    at += 2 + bytes.readUInt16BE(at + 2);
  }
  at += 2 + bytes.readUInt16BE(at + 2); // SOT
  const firstTilePart: number[] = [];
  while (bytes.readUInt16BE(at) !== 0xff93) {
    firstTilePart.push(bytes.readUInt16BE(at));
    at += 2 + bytes.readUInt16BE(at + 2);
  }
  return { colourSpace, main, firstTilePart };
}

/** Peak signal-to-noise ratio in dB between two 8-bit images of the same shape. */
function psnr(a: Pixels, b: Pixels): number {
  assert.deepEqual([a.width, a.height, a.channels], [b.width, b.height, b.channels]);
  let sum = 0;
  for (let i = 0; i < a.data.length; i++) sum += (a.data[i]! - b.data[i]!) ** 2;
  const mse = sum / a.data.length;
  return mse === 0 ? Infinity : 10 * Math.log10((255 * 255) / mse);
}

describe('vitrine convert --format jp2', () => {
  before(() => requireNative('openjpeg'));
  let dir: string;
  let masters: string;
  let out: string;
  let cleanup: () => Promise<void>;
  let first: { code: number; stdout: string; stderr: string };
  let report: ConversionReport;
  const derivative = (identifier: string, root = out): string => path.join(root, 'images', ...`${identifier}.jp2`.split('/'));

  before(async () => {
    ({ dir, cleanup } = await tempDir());
    masters = path.join(dir, 'masters');
    out = path.join(dir, 'out');
    await buildMasters(masters);
    first = await vitrine('convert', masters, '--out', out, '--format', 'jp2', '--json', '--workers', '2');
    report = JSON.parse(first.stdout) as ConversionReport;
  });
  after(async () => cleanup());

  it('writes <object>/<page>.jp2 derivatives and records them in the catalog as it does PTIFF ones', async () => {
    assert.equal(first.code, 3, first.stderr);
    assert.equal(report.totals.converted, 7, first.stderr);
    assert.deepEqual(report.settings, { format: 'jp2', quality: 85, tileSize: 1024, lossless: false, maxInputPixels: 2_000_000_000 });
    const catalog = new Catalog(path.join(out, 'catalog.sqlite'), { readonly: true });
    try {
      const pages = catalog.pages('book');
      assert.deepEqual(pages.map((p) => p.identifier), [1, 2, 3, 4, 5, 6].map((n) => `book/page-00${n}`));
      for (const page of pages) {
        assert.equal(page.derivativePath, derivative(page.identifier));
        assert.ok(existsSync(page.derivativePath), page.derivativePath);
        assert.match(page.settings, /"format":"jp2"/);
      }
      assert.deepEqual(
        pages.map((p) => [p.width, p.height]),
        [[2500, 1400], [400, 300], [400, 300], [400, 300], [400, 300], [9000, 64]],
      );
      assert.deepEqual(catalog.pages('broken').map((p) => p.identifier), ['broken/002']);
    } finally {
      catalog.close();
    }
  });

  it('codestream: 1024×1024 tiles, ≥ 6 levels down to ≤ 256 px, RPCL, 9/7 in 3 quality layers, 256/128 precincts, PLT and TLM', async () => {
    const big = await opjDump(derivative('book/page-001'));
    assert.deepEqual(big.tile, [1024, 1024]);
    assert.equal(big.resolutions, 6);
    assert.equal(big.progression, '0x2', 'RPCL');
    assert.equal(big.reversible, false, 'irreversible 9/7');
    assert.equal(big.layers, 3);
    assert.equal(big.mct, 1, 'colour transform for RGB');
    // log2 sizes from the lowest level up: 128 below, 256 for the two highest levels.
    assert.equal(big.precincts, '(7,7) (7,7) (7,7) (7,7) (8,8) (8,8)');
    const long = await opjDump(derivative('book/page-006'));
    assert.equal(long.resolutions, 7, '9000 px long side: 7 levels for a smallest level ≤ 256 px');
    assert.equal(jp2Resolutions(9000, 64, 1024), 7);
    assert.equal(Math.ceil(9000 / 2 ** (long.resolutions - 1)) <= 256, true);
    const grey = await opjDump(derivative('book/page-002'));
    assert.equal(grey.mct, 0, 'no colour transform for greyscale');

    const rgb = await boxesAndMarkers(derivative('book/page-001'));
    assert.equal(rgb.colourSpace, 16, 'sRGB');
    assert.ok(rgb.main.includes(0xff55), 'TLM marker in the main header');
    assert.ok(rgb.firstTilePart.includes(0xff58), 'PLT marker in the tile-part header');
    assert.equal((await boxesAndMarkers(derivative('book/page-002'))).colourSpace, 17, 'greyscale');
  });

  it('is byte for byte the file opj_compress writes from the same master with the same settings (RGB, grey; tiles assembled in parallel)', async () => {
    for (const [page, levels] of [['page-001', 6], ['page-002', 6], ['page-006', 7]] as const) {
      const reference = path.join(dir, `${page}.opj.jp2`);
      await run('opj_compress', [...opjSettings(levels), '-I', '-q', '35.5,40.5,45.5', '-i', path.join(masters, 'book', `${page}.tif`), '-o', reference]);
      assert.ok((await readFile(derivative(`book/${page}`))).equals(await readFile(reference)), `${page} differs from opj_compress's`);
    }
  });

  it('pixels, decoded by opj_decompress, are the masters at about 45 dB (visually lossless), every flavour', async () => {
    const cases: [string, string, boolean][] = [
      ['book/page-001', 'book/page-001.tif', false],
      ['book/page-002', 'book/page-002.tif', true],
      ['book/page-003', 'book/page-003.tif', false],
      ['book/page-004', 'book/page-004.png', false],
      ['book/page-005', 'book/page-005.jpg', false],
      ['book/page-006', 'book/page-006.tif', false],
    ];
    for (const [identifier, master, grey] of cases) {
      const got = await opjDecode(derivative(identifier));
      const want = await expected(path.join(masters, master), grey);
      assert.equal(got.channels, grey ? 1 : 3, `${identifier}: channels`);
      const db = psnr(got, want);
      assert.ok(db >= 40, `${identifier}: PSNR ${db.toFixed(1)} dB`);
      assert.ok(meanAbsDiff(got, want) < 1.5, `${identifier}: mean absolute difference ${meanAbsDiff(got, want).toFixed(2)}`);
    }
  });

  it('vitrine serve --data serves the JP2 derivatives: info.json from the codestream, regions, sizes, manifests', async () => {
    const server = await startServer(undefined, { data: out });
    try {
      const id = encodeURIComponent('book/page-001');
      const info = JSON.parse((await fetchBytes(`${server.url}/iiif/3/${id}/info.json`)).body.toString()) as {
        width: number;
        height: number;
        tiles: { width: number; scaleFactors: number[] }[];
      };
      assert.deepEqual([info.width, info.height], [2500, 1400]);
      assert.equal(info.tiles[0]!.width, 256);
      assert.deepEqual(info.tiles[0]!.scaleFactors, [1, 2, 4, 8, 16, 32], 'one per resolution level');
      const master = path.join(masters, 'book', 'page-001.tif');
      const region = await decode((await fetchBytes(`${server.url}/iiif/3/${id}/1000,900,600,500/max/0/default.png`)).body, 3);
      const want = await decode(sharp(master).extract({ left: 1000, top: 900, width: 600, height: 500 }), 3);
      assert.ok(meanAbsDiff(region, want) < 1.5, `region across four tiles: ${meanAbsDiff(region, want).toFixed(2)}`);
      const small = await decode((await fetchBytes(`${server.url}/iiif/3/${id}/full/625,/0/default.png`)).body, 3);
      const wantSmall = await decode(sharp(master).resize(625, 350), 3);
      assert.ok(meanAbsDiff(small, wantSmall) < 3, `reduced size: ${meanAbsDiff(small, wantSmall).toFixed(2)}`);
      const manifest = JSON.parse((await fetchBytes(`${server.url}/iiif/manifest/book`)).body.toString()) as { items: unknown[] };
      assert.equal(manifest.items.length, 6);
    } finally {
      await server.close();
    }
  });

  it('a master that breaks while its pixels stream is reported with its reason; no pipe or temporary file is left', async () => {
    const failed = report.failed.find((f) => f.source === 'broken/001.jpg');
    assert.ok(failed, JSON.stringify(report.failed));
    // libjpeg words the truncation by where the stream stops (premature end, corrupt data, or no
    // message at all: then "damaged JPEG (truncated or corrupt)").
    assert.match(failed.reason, /^damaged JPEG\b/);
    assert.doesNotMatch(failed.reason, /\.png|target/, 'no word of the internal pipe');
    assert.deepEqual(await readdir(path.join(out, '.tmp')), []);
    assert.equal(existsSync(derivative('broken/001')), false);
  });

  it('a re-run skips every page; --quality or --lossless changes re-convert', async () => {
    const again = await vitrine('convert', masters, '--out', out, '--format', 'jp2', '--json');
    const second = JSON.parse(again.stdout) as ConversionReport;
    assert.equal(second.totals.skipped, 7, again.stderr);
    assert.equal(second.totals.converted, 0);
    const lower = await vitrine('convert', path.join(masters, 'book'), '--out', path.join(dir, 'q'), '--format', 'jp2', '--quality', '60', '--json');
    const higher = await vitrine('convert', path.join(masters, 'book'), '--out', path.join(dir, 'q'), '--format', 'jp2', '--json');
    assert.equal((JSON.parse(higher.stdout) as ConversionReport).totals.converted, 6, 'quality 60 → 85 re-converts');
    assert.equal(lower.code, 0, lower.stderr);
  });

  it('--lossless: reversible 5/3, one layer, every pixel exact; switching to ptiff replaces the .jp2 with a .tif', async () => {
    const lossless = path.join(dir, 'lossless');
    const result = await vitrine('convert', path.join(masters, 'book'), '--out', lossless, '--format', 'jp2', '--lossless', '--json');
    assert.equal(result.code, 0, result.stderr);
    const file = (n: number) => path.join(lossless, 'images', 'book', `page-00${n}.jp2`);
    const dump = await opjDump(file(1));
    assert.equal(dump.reversible, true);
    assert.equal(dump.layers, 1);
    assert.equal(dump.progression, '0x2');
    const reference = path.join(dir, 'page-006.lossless.opj.jp2');
    await run('opj_compress', [...opjSettings(7), '-i', path.join(masters, 'book', 'page-006.tif'), '-o', reference]);
    assert.ok((await readFile(file(6))).equals(await readFile(reference)), "lossless page-006 differs from opj_compress's");
    for (const [n, grey] of [[1, false], [2, true], [6, false]] as const) {
      const got = await opjDecode(file(n));
      const want = await expected(path.join(masters, 'book', n === 2 ? 'page-002.tif' : `page-00${n}.tif`), grey);
      assert.equal(meanAbsDiff(got, want), 0, `page ${n} exact`);
    }
    // The same files as PTIFF: re-converted (other settings), and the JP2 files go.
    const ptiff = await vitrine('convert', path.join(masters, 'book'), '--out', lossless, '--json');
    assert.equal((JSON.parse(ptiff.stdout) as ConversionReport).totals.converted, 6, ptiff.stderr);
    const files = (await readdir(path.join(lossless, 'images', 'book'))).sort();
    assert.deepEqual(files, [1, 2, 3, 4, 5, 6].map((n) => `page-00${n}.tif`));
  });
});

describe('vitrine convert --format jp2 usage', () => {
  it('without the encoder: exit 2 and one line saying how to get it', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      // An addon switched off stands for one built without OpenJPEG: the same check, the same answer.
      const off = await run(process.execPath, [CLI, 'convert', dir, '--out', path.join(dir, 'out'), '--format', 'jp2'], {
        env: { ...process.env, VITRINE_NATIVE: 'off' },
      }).then(
        () => ({ code: 0, stderr: '' }),
        (e: { code: number; stderr: string }) => e,
      );
      assert.equal(off.code, 2, off.stderr);
      assert.equal(off.stderr.trim().split('\n').length, 1, off.stderr);
      assert.match(off.stderr, /--format jp2: JPEG 2000 encoding is not available: .*libopenjp2-7-dev.*npm rebuild/);
      assert.equal(existsSync(path.join(dir, 'out')), false, 'nothing written');
    } finally {
      await cleanup();
    }
  });

  it('--lossless is refused without --format jp2 (exit 2)', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const result = await vitrine('convert', dir, '--out', path.join(dir, 'out'), '--lossless');
      assert.equal(result.code, 2);
      assert.match(result.stderr, /--lossless: applies to --format jp2 only/);
    } finally {
      await cleanup();
    }
  });

  it('--help describes the JPEG 2000 settings', async () => {
    const result = await vitrine('convert', '--help');
    for (const text of ['--format', 'jp2', '--lossless', 'RPCL', '45.5 dB']) assert.ok(result.stdout.includes(text), text);
  });
});
