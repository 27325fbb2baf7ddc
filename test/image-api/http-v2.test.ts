import assert from 'node:assert/strict';
import { copyFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { channel, expectError, get, getImage, mirrored, pixelAt, reference, rotated, toSharp } from '../helpers/iiif.js';
import { assertSimilar, decode, type Pixels } from '../helpers/pixels.js';
import { REFERENCE_PNG, startServer, tempDir, type RunningServer } from '../helpers/server.js';

/**
 * Image API 2.1 over real HTTP (under /iiif/2/), compared with the same operation done directly
 * with sharp. Where 2.1 differs from 3.0: the `full` size, sizes above the region without `^`,
 * `max` limited only by maxWidth/maxHeight/maxArea, `@id` and the profile array in info.json.
 */

const LANCZOS = { fit: 'fill', kernel: 'lanczos3' } as const;

describe('Image API 2.1 over HTTP', () => {
  let server: RunningServer;
  let cleanup: () => Promise<void>;
  let images: string;
  let base: string;
  let source: Pixels;

  before(async () => {
    const tmp = await tempDir();
    cleanup = tmp.cleanup;
    images = tmp.dir;
    await copyFile(REFERENCE_PNG, path.join(images, 'ref.png'));
    await sharp(REFERENCE_PNG).extract({ left: 0, top: 200, width: 1000, height: 600 }).png().toFile(path.join(images, 'wide.png'));
    server = await startServer(images);
    base = `${server.url}/iiif/2/ref`;
    source = await reference();
  });
  after(async () => {
    await server.close();
    await cleanup();
  });

  const extract = (left: number, top: number, width: number, height: number) => reference((i) => i.extract({ left, top, width, height }));
  const canonicalOf = (got: { headers: Headers }) => /<([^>]*)>;rel="canonical"/.exec(got.headers.get('link') ?? '')?.[1];

  describe('regions', () => {
    it('full/full is the whole image, pixel for pixel, canonical full/full', async () => {
      const { pixels, got } = await getImage(`${base}/full/full/0/default.png`, 'image/png');
      assertSimilar(pixels, source, 0, 'full');
      assert.equal(canonicalOf(got), `${base}/full/full/0/default.png`);
    });

    it('x,y,w,h and pct:x,y,w,h cut the same pixels as sharp', async () => {
      const px = await getImage(`${base}/125,15,120,140/full/0/default.png`, 'image/png');
      assertSimilar(px.pixels, await extract(125, 15, 120, 140), 0, 'px');
      const pct = await getImage(`${base}/pct:41.6,7.5,40,70/full/0/default.png`, 'image/png');
      assertSimilar(pct.pixels, await extract(416, 75, 400, 700), 0, 'pct');
      assert.equal(canonicalOf(pct.got), `${base}/416,75,400,700/full/0/default.png`);
    });

    it('square on a non-square image is the shorter side, where the canonical URL says', async () => {
      const { pixels, got } = await getImage(`${server.url}/iiif/2/wide/square/full/0/default.png`, 'image/png');
      assert.deepEqual([pixels.width, pixels.height], [600, 600]);
      const match = /\/iiif\/2\/wide\/(\d+),0,600,600\/full\/0\/default\.png$/.exec(canonicalOf(got) ?? '');
      assert.ok(match, `canonical: ${canonicalOf(got)}`);
      assertSimilar(pixels, await reference((i) => i.extract({ left: Number(match[1]), top: 200, width: 600, height: 600 })), 0, 'square');
    });

    it('a region partly outside is cropped; one entirely outside or empty is a 400 naming the region', async () => {
      const { pixels } = await getImage(`${base}/950,900,100,200/full/0/default.png`, 'image/png');
      assertSimilar(pixels, await extract(950, 900, 50, 100), 0, 'cropped');
      for (const region of ['1000,0,10,10', '0,1000,1,1', 'pct:100,100,1,1', '0,0,10,0', 'x,0,1,1', '1,2,3']) {
        await expectError(`${base}/${region}/full/0/default.jpg`, 400, `region '${region}'`);
      }
    });
  });

  describe('sizes', () => {
    const cases: Array<{ region: string; size: string; want: [number, number]; crop?: [number, number, number, number] }> = [
      { region: 'full', size: '250,', want: [250, 250] },
      { region: '0,0,600,400', size: ',100', want: [150, 100], crop: [0, 0, 600, 400] },
      { region: 'full', size: 'pct:20', want: [200, 200] },
      { region: 'full', size: '300,100', want: [300, 100] },
      { region: '0,0,600,400', size: '!300,300', want: [300, 200], crop: [0, 0, 600, 400] },
      // sizeAboveFull: 2.1 scales above the region without any prefix.
      { region: '0,0,100,50', size: '300,', want: [300, 150], crop: [0, 0, 100, 50] },
      { region: '0,0,100,50', size: 'pct:250', want: [250, 125], crop: [0, 0, 100, 50] },
      { region: '0,0,100,50', size: '!400,400', want: [400, 200], crop: [0, 0, 100, 50] },
      { region: '0,0,100,50', size: '150,150', want: [150, 150], crop: [0, 0, 100, 50] },
    ];
    for (const c of cases) {
      it(`${c.region}/${c.size} is ${c.want.join('×')} with the pixels of a direct resize`, async () => {
        const { pixels } = await getImage(`${base}/${c.region}/${c.size}/0/default.png`, 'image/png');
        assert.deepEqual([pixels.width, pixels.height], c.want);
        const [left, top, width, height] = c.crop ?? [0, 0, 1000, 1000];
        const want = await reference((i) => i.extract({ left, top, width, height }).resize(c.want[0], c.want[1], LANCZOS));
        assertSimilar(pixels, want, 0.5, `${c.region}/${c.size}`);
      });
    }

    it('max without binding limits is the full size, never upscaled to maxArea', async () => {
      const { pixels, got } = await getImage(`${base}/0,0,300,200/max/0/default.png`, 'image/png');
      assertSimilar(pixels, await extract(0, 0, 300, 200), 0, 'max');
      assert.equal(canonicalOf(got), `${base}/0,0,300,200/full/0/default.png`);
      const full = await get(`${base}/full/max/0/default.jpg`, { method: 'HEAD' });
      assert.equal(full.status, 200);
      assert.equal(canonicalOf(full), `${base}/full/full/0/default.jpg`);
    });

    it('canonical sizes are full, w, (aspect kept) or w,h (distorted)', async () => {
      const cases: Array<[string, string]> = [
        ['full/!225,100', 'full/100,'],
        ['full/pct:25', 'full/250,'],
        ['0,0,600,400/,100', '0,0,600,400/150,'],
        ['full/300,100', 'full/300,100'],
        ['0,0,100,50/300,', '0,0,100,50/300,'],
        ['square/1000,', 'full/full'],
      ];
      for (const [asked, canonical] of cases) {
        const got = await get(`${base}/${asked}/0/default.jpg`, { method: 'HEAD' });
        assert.equal(got.status, 200, asked);
        assert.equal(canonicalOf(got), `${base}/${canonical}/0/default.jpg`, asked);
      }
    });

    it('3.0-only and malformed sizes are 400s naming the size', async () => {
      for (const size of ['^max', '^300,', '^pct:50', '0,', ',0', 'pct:0', '!10,', 'abc', '10,10,10', ',']) {
        await expectError(`${base}/full/${encodeURIComponent(size)}/0/default.jpg`, 400, `size '${size}'`);
      }
      await expectError(`${base}/0,0,1,100/,10/0/default.jpg`, 400, "size ',10'");
    });
  });

  describe('rotation, mirroring, qualities, formats', () => {
    let crop: Pixels;
    before(async () => {
      crop = await extract(100, 200, 300, 200);
    });

    for (const degrees of [90, 180, 270] as const) {
      it(`${degrees} turns clockwise`, async () => {
        const { pixels } = await getImage(`${base}/100,200,300,200/full/${degrees}/default.png`, 'image/png');
        assertSimilar(pixels, rotated(crop, degrees), 0, `rotation ${degrees}`);
      });
    }

    it('!0 mirrors, !90 mirrors then turns', async () => {
      const m0 = await getImage(`${base}/100,200,300,200/full/!0/default.png`, 'image/png');
      assertSimilar(m0.pixels, mirrored(crop), 0, '!0');
      const m90 = await getImage(`${base}/100,200,300,200/full/!90/default.png`, 'image/png');
      assertSimilar(m90.pixels, rotated(mirrored(crop), 90), 0, '!90');
      assert.equal(canonicalOf(m90.got), `${base}/100,200,300,200/full/!90/default.png`);
    });

    it('22.5 gives the bounding box with a transparent background in png', async () => {
      const { pixels } = await getImage(`${base}/100,200,300,200/full/22.5/default.png`, 'image/png');
      assert.ok(Math.abs(pixels.width - 354) <= 1 && Math.abs(pixels.height - 300) <= 1, `${pixels.width}×${pixels.height}`);
      assert.equal(pixels.channels, 4);
      assert.equal(pixelAt(pixels, 0, 0)[3], 0);
      assert.equal(pixelAt(pixels, pixels.width - 1, pixels.height - 1)[3], 0);
      assert.equal(pixelAt(pixels, pixels.width >> 1, pixels.height >> 1)[3], 255);
    });

    it('rotations out of range are 400s naming the rotation', async () => {
      for (const rotation of ['361', '-1', 'x', '!-90']) {
        await expectError(`${base}/full/full/${rotation}/default.jpg`, 400, `rotation '${rotation}'`);
      }
    });

    it('qualities: color = default, gray has equal channels, bitonal only 0 and 255', async () => {
      const region = '0,0,400,300';
      const want = await extract(0, 0, 400, 300);
      const color = await getImage(`${base}/${region}/full/0/color.png`, 'image/png');
      assertSimilar(color.pixels, want, 0, 'color');
      const gray = await getImage(`${base}/${region}/full/0/gray.png`, 'image/png');
      for (let c = 1; c < Math.min(gray.pixels.channels, 3); c++) assert.deepEqual(channel(gray.pixels, c).data, channel(gray.pixels, 0).data);
      assertSimilar(channel(gray.pixels, 0), await reference((i) => i.extract({ left: 0, top: 0, width: 400, height: 300 }).grayscale().toColourspace('b-w')), 1, 'gray');
      const bitonal = await getImage(`${base}/${region}/full/0/bitonal.png`, 'image/png');
      assert.deepEqual([...new Set(bitonal.pixels.data)].sort((a, b) => a - b), [0, 255]);
      await expectError(`${base}/full/full/0/native.jpg`, 400, "quality 'native'");
    });

    const formats = [
      { format: 'jpg', type: 'image/jpeg', sharp: 'jpeg', tolerance: 4 },
      { format: 'png', type: 'image/png', sharp: 'png', tolerance: 0 },
      { format: 'webp', type: 'image/webp', sharp: 'webp', tolerance: 4 },
      { format: 'tif', type: 'image/tiff', sharp: 'tiff', tolerance: 0 },
      { format: 'gif', type: 'image/gif', sharp: 'gif', tolerance: 12 },
    ];
    for (const f of formats) {
      it(`format ${f.format}: ${f.type}, decodable, right size and pixels`, async () => {
        const { got, pixels } = await getImage(`${base}/200,100,400,300/200,/0/default.${f.format}`, f.type);
        const meta = await sharp(got.body).metadata();
        assert.equal(meta.format, f.sharp);
        assert.deepEqual([meta.width, meta.height], [200, 150]);
        const want = await reference((i) => i.extract({ left: 200, top: 100, width: 400, height: 300 }).resize(200, 150, LANCZOS));
        assertSimilar(await decode(toSharp(pixels), 3), want, f.tolerance, f.format);
      });
    }

    it('an unsupported format is a 400 naming it', async () => {
      for (const format of ['jp2', 'pdf', 'bmp']) await expectError(`${base}/full/full/0/default.${format}`, 400, `format '${format}'`);
    });
  });

  describe('info.json', () => {
    it('has @context, @id, protocol, dimensions, sizes, tiles and the level-2 profile with its extras', async () => {
      const got = await get(`${base}/info.json`);
      assert.equal(got.status, 200);
      const info = JSON.parse(got.text) as Record<string, unknown>;
      assert.equal(Object.keys(info)[0], '@context');
      assert.equal(info['@context'], 'http://iiif.io/api/image/2/context.json');
      assert.equal(info['@id'], `${server.url}/iiif/2/ref`);
      assert.equal(info.id, undefined, 'no 3.0 id');
      assert.equal(info.type, undefined, 'no 3.0 type');
      assert.equal(info.protocol, 'http://iiif.io/api/image');
      assert.equal(info.width, 1000);
      assert.equal(info.height, 1000);
      assert.deepEqual(info.sizes, [
        { width: 500, height: 500 },
        { width: 1000, height: 1000 },
      ]);
      assert.deepEqual(info.tiles, [{ width: 512, height: 512, scaleFactors: [1, 2] }]);
      const profile = info.profile as [string, { formats: string[]; qualities: string[]; supports: string[]; maxArea?: number }];
      assert.equal(profile[0], 'http://iiif.io/api/image/2/level2.json');
      assert.deepEqual([...profile[1].formats].sort(), ['gif', 'jpg', 'png', 'tif', 'webp']);
      assert.deepEqual([...profile[1].qualities].sort(), ['bitonal', 'color', 'default', 'gray']);
      for (const feature of ['baseUriRedirect', 'canonicalLinkHeader', 'cors', 'jsonldMediaType', 'mirroring', 'profileLinkHeader', 'regionByPct', 'regionByPx', 'regionSquare', 'rotationArbitrary', 'rotationBy90s', 'sizeAboveFull', 'sizeByConfinedWh', 'sizeByDistortedWh', 'sizeByH', 'sizeByPct', 'sizeByW', 'sizeByWh']) {
        assert.ok(profile[1].supports.includes(feature), `supports ${feature}`);
      }
      assert.equal(profile[1].maxArea, 25_000_000);
    });

    it('each advertised size can be requested with w, (the 2.1 canonical form) and w,h', async () => {
      const info = (await (await fetch(`${base}/info.json`)).json()) as { sizes: Array<{ width: number; height: number }> };
      for (const { width, height } of info.sizes) {
        for (const size of [`${width},`, `${width},${height}`]) {
          const { pixels } = await getImage(`${base}/full/${size}/0/default.jpg`, 'image/jpeg');
          assert.deepEqual([pixels.width, pixels.height], [width, height]);
        }
      }
    });

    it('an unknown identifier is a 404', async () => {
      await expectError(`${server.url}/iiif/2/missing/info.json`, 404, "identifier 'missing'");
      await expectError(`${server.url}/iiif/2/missing/full/full/0/default.jpg`, 404, "identifier 'missing'");
    });
  });

  describe('with size limits (maxWidth 400, maxHeight 300, maxArea 60000)', () => {
    let limited: RunningServer;
    let lbase: string;
    const within = (w: number, h: number) => w <= 400 && h <= 300 && w * h <= 60_000;

    before(async () => {
      limited = await startServer(images, { maxWidth: 400, maxHeight: 300, maxArea: 60_000 });
      lbase = `${limited.url}/iiif/2/ref`;
    });
    after(async () => {
      await limited.close();
    });

    it('the profile advertises the limits; sizes and tiles keep to them', async () => {
      const info = (await (await fetch(`${lbase}/info.json`)).json()) as {
        sizes: Array<{ width: number; height: number }>;
        tiles: Array<{ width: number; height: number }>;
        profile: [string, Record<string, unknown>];
      };
      assert.equal(info.profile[1].maxWidth, 400);
      assert.equal(info.profile[1].maxHeight, 300);
      assert.equal(info.profile[1].maxArea, 60_000);
      for (const s of [...info.sizes, ...info.tiles]) assert.ok(within(s.width, s.height), JSON.stringify(s));
    });

    it('max is the largest size within the limits; a small region is not upscaled', async () => {
      const { pixels } = await getImage(`${lbase}/full/max/0/default.png`, 'image/png');
      assert.ok(within(pixels.width, pixels.height) && !within(pixels.width + 1, pixels.height + 1), `${pixels.width}×${pixels.height}`);
      assert.equal(pixels.width, pixels.height);
      const small = await getImage(`${lbase}/0,0,100,50/max/0/default.png`, 'image/png');
      assertSimilar(small.pixels, await extract(0, 0, 100, 50), 0, 'max of a small region');
    });

    it('requests over a limit (full included) are 400s naming the limit', async () => {
      await expectError(`${lbase}/full/full/0/default.jpg`, 400, 'maxWidth 400');
      await expectError(`${lbase}/0,0,100,1000/,301/0/default.jpg`, 400, 'maxHeight 300');
      await expectError(`${lbase}/full/250,250/0/default.jpg`, 400, 'maxArea 60000');
      await expectError(`${lbase}/0,0,100,100/401,/0/default.jpg`, 400, 'maxWidth 400');
    });
  });
});
