import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { IiifError } from '../../src/image-api/errors.js';
import { parseImageRequest } from '../../src/image-api/grammar.js';
import { resolveRequest } from '../../src/image-api/resolve.js';
import { render } from '../../src/imaging/executor.js';
import { nativeAddon } from '../../src/imaging/native.js';
import { openSource } from '../../src/imaging/open-source.js';
import { assertConvertedLike, assertServesLike, convertFolder, flavourFolder, type FlavourFolder } from '../helpers/flavour.js';
import { tiff2rgba } from '../helpers/libtiff.js';
import { writeInterchangeOldJpegTiff, writeOldJpegTiff } from '../helpers/ojpeg.js';
import { assertSimilar, decode, fetchBytes, type Pixels } from '../helpers/pixels.js';
import { REFERENCE_PNG, startServer } from '../helpers/server.js';

// Old-style JPEG TIFF (compression 6): sharp's libtiff is built without it (strips: "not
// configured"; tiles: blank white, no error). The system libtiff decodes it through the addon.
// The fixtures are written by test/helpers/ojpeg.ts (no maintained tool writes this format), the
// reference is libtiff's own decode (tiff2rgba).
const FIXTURES = {
  // Tiles of 512×128 over a 500×380 image (a column of three, the last one padded), YCbCr 2×2,
  // tables in the directory (TIFF 6.0 layout).
  'tiled.tif': (file: string, pixels: Pixels) => writeOldJpegTiff(file, pixels, { tileWidth: 512, tileHeight: 128 }),
  // Strips of 64 rows (the last one shorter), YCbCr 2×2, tables in the directory.
  'strips.tif': (file: string, pixels: Pixels) => writeOldJpegTiff(file, pixels, { rowsPerStrip: 64 }),
  // One strip, the whole JPEG stream pointed at by JPEGInterchangeFormat.
  'interchange.tif': (file: string, pixels: Pixels) => writeInterchangeOldJpegTiff(file, pixels),
} as const;
const SIZES: Record<keyof typeof FIXTURES, [number, number]> = { 'tiled.tif': [500, 380], 'strips.tif': [500, 380], 'interchange.tif': [600, 400] };
const NAMES = Object.keys(FIXTURES) as (keyof typeof FIXTURES)[];

describe('old-style JPEG TIFF (compression 6)', () => {
  let folder: FlavourFolder;

  before(async () => {
    assert.ok(nativeAddon().binding?.decodeTiffRgba, `the native addon must be built with libtiff (libtiff-dev): ${nativeAddon().reason}`);
    folder = await flavourFolder();
    const { box, references } = folder;
    for (const name of NAMES) {
      const [width, height] = SIZES[name];
      const pixels = await decode(sharp(REFERENCE_PNG).removeAlpha().resize(width, height), 3);
      await FIXTURES[name](path.join(box, name), pixels);
      const reference = await tiff2rgba(path.join(box, name));
      // The fixture is right: libtiff decodes it to the picture it was made from (JPEG quality 90).
      assertSimilar(reference, pixels, 3, `${name} as libtiff decodes it`);
      references.set(name, reference);
    }
    folder.server = await startServer(box);
  });
  after(async () => folder?.cleanup());

  for (const name of NAMES) {
    it(`${name} is served like libtiff decodes it (full, reduced, region)`, async () => {
      await assertServesLike(folder.server!.url, name, folder.references.get(name)!, 0.5);
    });
  }

  it('a JPEG tile of the tiled one is the picture, not a blank page', async () => {
    const { body } = await fetchBytes(`${folder.server!.url}/iiif/3/tiled.tif/0,0,500,380/500,380/0/default.jpg`);
    assertSimilar(await decode(body, 3), folder.references.get('tiled.tif')!, 5, 'tiled.tif as JPEG (quality 85)');
  });

  it('all three convert like libtiff decodes them', async () => {
    const out = path.join(folder.dir, 'out');
    const report = await convertFolder(folder.masters, out);
    assert.deepEqual(report.failed, []);
    assert.equal(report.totals.converted, NAMES.length);
    for (const name of NAMES) await assertConvertedLike(path.join(out, 'images', 'box', name), folder.references.get(name)!, 5);
  });

  it('a damaged one (its data cut short) is refused, never served or converted half grey', async () => {
    const whole = await readFile(path.join(folder.box, 'strips.tif'));
    const damaged = path.join(folder.dir, 'damaged');
    await mkdir(path.join(damaged, 'box'), { recursive: true });
    // A third of the file zeroed (the middle strips' data): libjpeg finds no valid data there.
    const cut = Buffer.from(whole);
    cut.fill(0, Math.floor(cut.length / 3), Math.floor((cut.length * 2) / 3));
    await writeFile(path.join(damaged, 'box', 'cut.tif'), cut);
    const report = await convertFolder(damaged, path.join(folder.dir, 'out-damaged'));
    assert.equal(report.failed.length, 1, JSON.stringify(report));
    assert.match(report.failed[0]!.reason, /libtiff/);
    const opened = await openSource(path.join(damaged, 'box', 'cut.tif'));
    try {
      const request = resolveRequest(parseImageRequest(3, 'full', 'max', '0', 'default.png'), opened.info, {});
      await assert.rejects(render(opened, request, { jpegQuality: 85, maxInputPixels: 1e8, kernel: 'lanczos3' }, nativeAddon().binding), (error: unknown) => {
        assert.ok(error instanceof IiifError && error.status === 500, String(error));
        assert.match(error.message, /libtiff/);
        return true;
      });
    } finally {
      await opened.close();
    }
  });

  it('without libtiff in the addon: refused with the reason (501 when serving, the page failed when converting)', async () => {
    const source = await openSource(path.join(folder.box, 'strips.tif'));
    try {
      const request = resolveRequest(parseImageRequest(3, 'full', 'max', '0', 'default.png'), source.info, {});
      await assert.rejects(render(source, request, { jpegQuality: 85, maxInputPixels: 1e8, kernel: 'lanczos3' }, undefined), (error: unknown) => {
        assert.ok(error instanceof IiifError && error.status === 501, String(error));
        assert.match(error.message, /old-style JPEG TIFF \(compression 6\).*libtiff-dev/);
        return true;
      });
    } finally {
      await source.close();
    }
    const report = await convertFolder(folder.masters, path.join(folder.dir, 'out-no-addon'), { VITRINE_NATIVE: 'off' });
    assert.deepEqual(report.failed.map((f) => f.source).sort(), NAMES.map((n) => `box/${n}`).sort());
    for (const failed of report.failed) assert.match(failed.reason, /old-style JPEG TIFF \(compression 6\).*libtiff-dev/);
  });
});
