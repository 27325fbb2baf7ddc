import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { get, getImage, toSharp } from '../helpers/iiif.js';
import { assertSimilar, decode, meanAbsDiff, type Pixels } from '../helpers/pixels.js';
import { REFERENCE_PNG, startServer, tempDir, type RunningServer } from '../helpers/server.js';

/** Sources other than a plain PNG, over HTTP: a pyramidal tiled JPEG TIFF, and a JPEG with EXIF orientation. */

const WIDTH = 2000;
const HEIGHT = 1500;

describe('source formats over HTTP', () => {
  let server: RunningServer;
  let cleanup: () => Promise<void>;
  let pyramid: string;
  let original: Pixels;
  /** Width and height of each stored level (TIFF page), full resolution first. */
  let levels: Array<{ width: number; height: number }>;

  before(async () => {
    const tmp = await tempDir();
    cleanup = tmp.cleanup;
    pyramid = path.join(tmp.dir, 'pyramid.tif');
    const master = sharp(REFERENCE_PNG).removeAlpha().resize(WIDTH, HEIGHT, { fit: 'fill' });
    original = await decode(master.clone());
    await master
      .clone()
      .tiff({ tile: true, pyramid: true, compression: 'jpeg', quality: 90, tileWidth: 256, tileHeight: 256 })
      .toFile(pyramid);
    const pages = (await sharp(pyramid).metadata()).pages ?? 1;
    levels = [];
    for (let page = 0; page < pages; page++) {
      const meta = await sharp(pyramid, { page }).metadata();
      levels.push({ width: meta.width!, height: meta.height! });
    }
    // Stored 300 wide × 400 high, EXIF orientation 6 (turn 90° clockwise to view): shows as 400×300.
    await sharp(REFERENCE_PNG)
      .extract({ left: 100, top: 50, width: 400, height: 300 })
      .rotate(-90)
      .jpeg({ quality: 95 })
      .withMetadata({ orientation: 6 })
      .toFile(path.join(tmp.dir, 'exif.jpg'));
    server = await startServer(tmp.dir);
  });
  after(async () => {
    await server.close();
    await cleanup();
  });

  const level = (page: number): Pixels | Promise<Pixels> => decode(sharp(pyramid, { page }));

  describe('pyramidal tiled TIFF', () => {
    it('is a real pyramid: several levels, each half the one before, tiled 256×256', async () => {
      assert.ok(levels.length >= 4, `${levels.length} levels`);
      assert.deepEqual(levels[0], { width: WIDTH, height: HEIGHT });
      for (let i = 1; i < levels.length; i++) assert.ok(Math.abs(levels[i]!.width - levels[i - 1]!.width / 2) <= 1);
    });

    for (const version of [3, 2] as const) {
      it(`info.json (${version}) advertises the stored levels as sizes and scale factors of 256×256 tiles`, async () => {
        const got = await get(`${server.url}/iiif/${version}/pyramid.tif/info.json`);
        assert.equal(got.status, 200);
        const info = JSON.parse(got.text) as {
          width: number;
          height: number;
          sizes: Array<{ width: number; height: number }>;
          tiles: Array<{ width: number; height: number; scaleFactors: number[] }>;
        };
        assert.deepEqual([info.width, info.height], [WIDTH, HEIGHT]);
        const factors = levels.map((l) => Math.round(WIDTH / l.width));
        assert.deepEqual(factors, levels.map((_, i) => 2 ** i), 'levels halve');
        // The smallest level fits one tile, so nothing beyond the stored levels is advertised.
        assert.ok(levels.at(-1)!.width <= 256 && levels.at(-1)!.height <= 256);
        assert.deepEqual(info.tiles, [{ width: 256, height: 256, scaleFactors: factors }]);
        assert.deepEqual(info.sizes, [...levels].sort((a, b) => a.width - b.width));
      });
    }

    it('a tile of a reduced level has the stored pixels, at the right place', async () => {
      // Tile (1,1) of level 1 (1000×750): full-resolution region 512,512,512,512 at 256×256.
      const { pixels } = await getImage(`${server.url}/iiif/3/pyramid.tif/512,512,512,512/256,256/0/default.jpg`, 'image/jpeg');
      const stored = await decode(sharp(await sharp(pyramid, { page: 1 }).extract({ left: 256, top: 256, width: 256, height: 256 }).png().toBuffer()));
      assertSimilar(pixels, stored, 1.5, 'tile vs stored level');
      const wanted = await decode(toSharp(original).extract({ left: 512, top: 512, width: 512, height: 512 }).resize(256, 256));
      assertSimilar(pixels, wanted, 6, 'tile vs master');
      // The neighbouring tile is a different picture: the comparison can tell places apart.
      const neighbour = await decode(sharp(await sharp(pyramid, { page: 1 }).extract({ left: 512, top: 256, width: 256, height: 256 }).png().toBuffer()));
      assert.ok(meanAbsDiff(pixels, neighbour) > 15, 'neighbour differs');
    });

    it('the same tile in 2.1 syntax (w,) is the same image', async () => {
      const v3 = await get(`${server.url}/iiif/3/pyramid.tif/512,512,512,512/256,256/0/default.jpg`);
      const v2 = await get(`${server.url}/iiif/2/pyramid.tif/512,512,512,512/256,/0/default.jpg`);
      assert.equal(v2.status, 200);
      assert.deepEqual(await decode(v2.body), await decode(v3.body));
    });

    it('a reduced-size request is read from the matching level, pixel for pixel', async () => {
      const quarter = levels[2]!;
      const { pixels } = await getImage(`${server.url}/iiif/3/pyramid.tif/full/${quarter.width},/0/default.png`, 'image/png');
      assert.deepEqual([pixels.width, pixels.height], [quarter.width, quarter.height]);
      assertSimilar(pixels, await level(2), 0, 'level 2');
      const wanted = await decode(toSharp(original).resize(quarter.width, quarter.height, { fit: 'fill' }));
      assertSimilar(pixels, wanted, 6, 'reduced vs master');
    });

    it('a full-resolution region across tiles has the pixels of level 0', async () => {
      const { pixels } = await getImage(`${server.url}/iiif/3/pyramid.tif/300,200,700,500/max/0/default.png`, 'image/png');
      const want = await decode(sharp(await sharp(pyramid, { page: 0 }).extract({ left: 300, top: 200, width: 700, height: 500 }).png().toBuffer()));
      assertSimilar(pixels, want, 0, 'level-0 region');
    });

    it('a region between levels is scaled to the right size and pixels', async () => {
      const { pixels } = await getImage(`${server.url}/iiif/3/pyramid.tif/0,0,1200,900/300,/0/default.png`, 'image/png');
      assert.deepEqual([pixels.width, pixels.height], [300, 225]);
      const wanted = await decode(toSharp(original).extract({ left: 0, top: 0, width: 1200, height: 900 }).resize(300, 225));
      assertSimilar(pixels, wanted, 6, 'scaled region');
    });
  });

  describe('JPEG with EXIF orientation', () => {
    let shown: Pixels;
    before(async () => {
      shown = await decode(sharp(REFERENCE_PNG).extract({ left: 100, top: 50, width: 400, height: 300 }));
    });

    for (const version of [3, 2] as const) {
      it(`info.json (${version}) gives the displayed dimensions (400×300), not the stored ones`, async () => {
        const info = (await (await fetch(`${server.url}/iiif/${version}/exif/info.json`)).json()) as { width: number; height: number };
        assert.deepEqual([info.width, info.height], [400, 300]);
      });
    }

    it('the image is served upright, and regions are in displayed coordinates', async () => {
      const full = await getImage(`${server.url}/iiif/3/exif/full/max/0/default.png`, 'image/png');
      assertSimilar(full.pixels, shown, 3, 'upright');
      const region = await getImage(`${server.url}/iiif/3/exif.jpg/200,0,200,100/max/0/default.png`, 'image/png');
      assertSimilar(region.pixels, await decode(toSharp(shown).extract({ left: 200, top: 0, width: 200, height: 100 })), 3, 'region');
    });
  });
});
