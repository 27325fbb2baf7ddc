import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { assertConvertedLike, assertServesLike, convertFolder } from '../helpers/flavour.js';
import { tiff2rgba, writeLoopedTiff } from '../helpers/libtiff.js';
import type { Pixels } from '../helpers/pixels.js';
import { REFERENCE_PNG, startServer, tempDir, type RunningServer } from '../helpers/server.js';

// A TIFF whose directory chain loops (the last next-IFD offset points back to the first): libtiff
// and libvips read the directories before the loop; so must Vitrine, in serve and in convert.
describe('a TIFF whose IFD chain loops', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let server: RunningServer;
  let reference: Pixels;
  let looped: string;

  before(async () => {
    ({ dir, cleanup } = await tempDir());
    await mkdir(path.join(dir, 'masters', 'box'), { recursive: true });
    const pyramid = path.join(dir, 'pyramid.tif');
    await sharp(REFERENCE_PNG).removeAlpha().resize(900, 700).tiff({ tile: true, tileWidth: 256, tileHeight: 256, pyramid: true, compression: 'jpeg', quality: 90 }).toFile(pyramid);
    looped = path.join(dir, 'masters', 'box', 'looped.tif');
    const { directories } = await writeLoopedTiff(pyramid, looped);
    assert.ok(directories >= 3, 'a pyramid of several directories');
    reference = await tiff2rgba(looped);
    server = await startServer(path.join(dir, 'masters', 'box'));
  });
  after(async () => {
    await server?.close();
    await cleanup();
  });

  it('is served from the directories before the loop (full, reduced, region) like libtiff decodes it', async () => {
    await assertServesLike(server.url, 'looped.tif', reference, 1);
    const info = JSON.parse(Buffer.from(await (await fetch(`${server.url}/iiif/3/looped.tif/info.json`)).arrayBuffer()).toString()) as { sizes: unknown[] };
    assert.ok(info.sizes.length >= 3, 'the pyramid levels before the loop are advertised');
  });

  it('converts like libtiff decodes it', async () => {
    const out = path.join(dir, 'out');
    const report = await convertFolder(path.join(dir, 'masters'), out);
    assert.equal(report.totals.converted, 1, JSON.stringify(report.failed));
    await assertConvertedLike(path.join(out, 'images', 'box', 'looped.tif'), reference, 2);
  });
});
