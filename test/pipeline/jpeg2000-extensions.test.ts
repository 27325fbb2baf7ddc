import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, rename } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { ignoreReason } from '../../src/pipeline/scan.js';
import { assertConvertedLike, assertServesLike, convertFolder, flavourFolder, type FlavourFolder } from '../helpers/flavour.js';
import { ojphCompress, opjCompress, type RawImage } from '../helpers/jp2.js';
import { opjDecode } from '../helpers/opj.js';
import { decode } from '../helpers/pixels.js';
import { REFERENCE_PNG, startServer } from '../helpers/server.js';

// Every JPEG 2000 file extension in use is a master, for convert as for serve; what a file is comes
// from its content. OpenJPEG (opj_compress) and OpenJPH (ojph_compress) write the files, under the
// extensions they choose, then renamed to the others; opj_decompress decodes the reference.
const run = promisify(execFile);
const EXTENSIONS = ['.jp2', '.jpx', '.jph', '.j2k', '.j2c', '.jpc', '.jhc'] as const;

describe('JPEG 2000 masters under every extension', () => {
  let folder: FlavourFolder;

  before(async () => {
    folder = await flavourFolder();
    const { dir, box, references } = folder;
    const rgb = await decode(sharp(REFERENCE_PNG).removeAlpha().resize(600, 450), 3);
    const image: RawImage = { width: rgb.width, height: rgb.height, channels: 3, bits: 8, samples: rgb.data };
    await opjCompress(path.join(box, 'p-001.jp2'), image, ['-t', '256,256']);
    await opjCompress(path.join(box, 'p-002.jp2'), image, ['-r', '20']);
    await rename(path.join(box, 'p-002.jp2'), path.join(box, 'p-002.jpx'));
    await opjCompress(path.join(box, 'p-003.jp2'), image);
    await rename(path.join(box, 'p-003.jp2'), path.join(box, 'p-003.jph'));
    await opjCompress(path.join(box, 'p-004.j2k'), image);
    await ojphCompress(path.join(box, 'p-005.j2c'), image, ['-reversible', 'true']);
    await opjCompress(path.join(box, 'p-006.j2k'), image, ['-r', '10']);
    await rename(path.join(box, 'p-006.j2k'), path.join(box, 'p-006.jpc'));
    await ojphCompress(path.join(box, 'p-007.j2c'), image, ['-qstep', '0.01']);
    await rename(path.join(box, 'p-007.j2c'), path.join(box, 'p-007.jhc'));
    for (const [i, ext] of EXTENSIONS.entries()) {
      const name = `p-00${i + 1}${ext}`;
      references.set(name, await opjDecode(path.join(box, name)));
    }
    // A two-page TIFF (joined by libtiff's tiffcp) under a JPEG 2000 name: taken by what it is, both pages.
    const pages = [0, 1].map((p) => path.join(dir, `page-${p}.tif`));
    for (const [p, file] of pages.entries()) await sharp(REFERENCE_PNG).removeAlpha().resize(300, 200).rotate(p * 180).tiff().toFile(file);
    await run('tiffcp', [...pages, path.join(box, 'p-008.jpc')]);
    folder.server = await startServer(box);
  });
  after(async () => folder?.cleanup());

  it('none of the extensions is ignored', () => {
    for (const ext of EXTENSIONS) {
      assert.equal(ignoreReason(`page${ext}`), undefined, ext);
      assert.equal(ignoreReason(`PAGE${ext.toUpperCase()}`), undefined, ext.toUpperCase());
    }
  });

  for (const [i, ext] of EXTENSIONS.entries()) {
    it(`${ext} is served like opj_decompress decodes it (full, reduced, region)`, async () => {
      const name = `p-00${i + 1}${ext}`;
      await assertServesLike(folder.server!.url, name, folder.references.get(name)!, 1);
    });
  }

  it('every one converts like opj_decompress decodes it, and a TIFF under a .jpc name as the TIFF it is', async () => {
    const out = path.join(folder.dir, 'out');
    const report = await convertFolder(folder.masters, out);
    assert.deepEqual(report.ignored, [], 'nothing ignored');
    assert.deepEqual(report.failed, []);
    // Every page's outcome is in the report's NDJSON page log.
    const outcomes = (await readFile(report.pages!, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { outcome?: string; source: string; page: number; identifier: string });
    const done = outcomes.filter((o) => o.outcome === 'converted');
    const converted = done.map((c) => `${c.source}#${c.page}`).sort();
    assert.deepEqual(converted, [...EXTENSIONS.map((ext, i) => `box/p-00${i + 1}${ext}#0`), 'box/p-008.jpc#0', 'box/p-008.jpc#1'].sort());
    for (const [i, ext] of EXTENSIONS.entries()) {
      const name = `p-00${i + 1}${ext}`;
      const entry = done.find((c) => c.source === `box/${name}`)!;
      await assertConvertedLike(path.join(out, 'images', `${entry.identifier}.tif`), folder.references.get(name)!, 3);
    }
  });
});
