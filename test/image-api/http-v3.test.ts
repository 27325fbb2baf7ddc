import assert from 'node:assert/strict';
import { copyFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { channel, expectError, get, getImage, mirrored, pixelAt, reference, rotated, toSharp } from '../helpers/iiif.js';
import { assertSimilar, decode, type Pixels } from '../helpers/pixels.js';
import { REFERENCE_PNG, startServer, tempDir, type RunningServer } from '../helpers/server.js';

/**
 * Image API 3.0 over real HTTP: every request goes to a running server, and every image is compared
 * with the same operation done directly with sharp on the source (exactly for PNG).
 */

const LANCZOS = { fit: 'fill', kernel: 'lanczos3' } as const;

describe('Image API 3.0 over HTTP', () => {
  let server: RunningServer;
  let cleanup: () => Promise<void>;
  let base: string;
  let source: Pixels;
  let images: string;

  before(async () => {
    const tmp = await tempDir();
    cleanup = tmp.cleanup;
    images = tmp.dir;
    await copyFile(REFERENCE_PNG, path.join(tmp.dir, 'ref.png'));
    // 1000×600: not square, so `square` has a choice to make.
    await sharp(REFERENCE_PNG).extract({ left: 0, top: 200, width: 1000, height: 600 }).png().toFile(path.join(tmp.dir, 'wide.png'));
    server = await startServer(tmp.dir);
    base = `${server.url}/iiif/3/ref`;
    source = await reference();
  });
  after(async () => {
    await server.close();
    await cleanup();
  });

  const extract = (left: number, top: number, width: number, height: number) => reference((i) => i.extract({ left, top, width, height }));

  describe('regions', () => {
    it('full returns the whole image, pixel for pixel', async () => {
      const { pixels } = await getImage(`${base}/full/max/0/default.png`, 'image/png');
      assertSimilar(pixels, source, 0, 'full');
    });

    it('x,y,w,h returns exactly that rectangle', async () => {
      const { pixels, got } = await getImage(`${base}/125,15,120,140/max/0/default.png`, 'image/png');
      assertSimilar(pixels, await extract(125, 15, 120, 140), 0, 'px region');
      assert.match(got.headers.get('link') ?? '', /\/iiif\/3\/ref\/125,15,120,140\/max\/0\/default\.png>;rel="canonical"/);
    });

    it('pct:x,y,w,h is converted to pixels of the full image', async () => {
      const { pixels, got } = await getImage(`${base}/pct:41.6,7.5,40,70/max/0/default.png`, 'image/png');
      assertSimilar(pixels, await extract(416, 75, 400, 700), 0, 'pct region');
      assert.match(got.headers.get('link') ?? '', /\/416,75,400,700\/max\/0\/default\.png>;rel="canonical"/);
    });

    it('square takes the shorter side, where the canonical URL says, on a non-square image', async () => {
      const { pixels, got } = await getImage(`${server.url}/iiif/3/wide/square/max/0/default.png`, 'image/png');
      assert.deepEqual([pixels.width, pixels.height], [600, 600]);
      const match = /\/iiif\/3\/wide\/(\d+),(\d+),600,600\/max\/0\/default\.png>;rel="canonical"/.exec(got.headers.get('link') ?? '');
      assert.ok(match, `canonical link: ${got.headers.get('link')}`);
      const [x, y] = [Number(match[1]), Number(match[2])];
      assert.ok(x >= 0 && x <= 400 && y === 0, `square at ${x},${y}`);
      assertSimilar(pixels, await reference((i) => i.extract({ left: x, top: 200 + y, width: 600, height: 600 })), 0, 'square');
    });

    it('square of a square image is the full image (canonical full)', async () => {
      const { pixels, got } = await getImage(`${base}/square/100,/0/default.png`, 'image/png');
      assert.match(got.headers.get('link') ?? '', /\/ref\/full\/100,100\/0\/default\.png>;rel="canonical"/);
      assertSimilar(pixels, await reference((i) => i.resize(100, 100, LANCZOS)), 0, 'square');
    });

    it('a region partly outside the image is cropped at the edge, not padded', async () => {
      const { pixels, got } = await getImage(`${base}/900,950,200,300/max/0/default.png`, 'image/png');
      assert.deepEqual([pixels.width, pixels.height], [100, 50]);
      assertSimilar(pixels, await extract(900, 950, 100, 50), 0, 'cropped region');
      assert.match(got.headers.get('link') ?? '', /\/900,950,100,50\/max\//);
      const pct = await getImage(`${base}/pct:95,0,10,5/max/0/default.png`, 'image/png');
      assertSimilar(pct.pixels, await extract(950, 0, 50, 50), 0, 'cropped pct region');
    });

    it('a region entirely outside the image, or empty, is a 400 naming the region', async () => {
      for (const region of ['1000,0,10,10', '0,1000,10,10', '5000,5000,1,1', 'pct:100,0,10,10', 'pct:0,100,10,10', '0,0,0,10', '0,0,10,0', 'pct:0,0,0,10']) {
        await expectError(`${base}/${region}/max/0/default.jpg`, 400, `region '${region}'`);
      }
    });
  });

  describe('sizes', () => {
    const cases: Array<{ region: string; size: string; want: [number, number]; crop?: [number, number, number, number] }> = [
      { region: 'full', size: '250,', want: [250, 250] },
      { region: '0,0,600,400', size: ',100', want: [150, 100], crop: [0, 0, 600, 400] },
      { region: 'full', size: 'pct:25', want: [250, 250] },
      { region: 'full', size: '300,100', want: [300, 100] },
      { region: '0,0,600,400', size: '!300,300', want: [300, 200], crop: [0, 0, 600, 400] },
      { region: 'full', size: '!225,100', want: [100, 100] },
      { region: '0,0,100,50', size: '^400,', want: [400, 200], crop: [0, 0, 100, 50] },
      { region: '0,0,100,50', size: '^,150', want: [300, 150], crop: [0, 0, 100, 50] },
      { region: '0,0,100,100', size: '^pct:250', want: [250, 250], crop: [0, 0, 100, 100] },
      { region: '0,0,100,100', size: '^300,120', want: [300, 120], crop: [0, 0, 100, 100] },
      { region: '0,0,100,50', size: '^!360,360', want: [360, 180], crop: [0, 0, 100, 50] },
      { region: '0,0,600,400', size: '^150,', want: [150, 100], crop: [0, 0, 600, 400] },
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

    it('max is the region itself when no limit binds', async () => {
      const { pixels, got } = await getImage(`${base}/0,0,300,200/max/0/default.png`, 'image/png');
      assertSimilar(pixels, await extract(0, 0, 300, 200), 0, 'max');
      assert.match(got.headers.get('link') ?? '', /\/0,0,300,200\/max\/0\/default\.png>;rel="canonical"/);
    });

    it('the canonical size is w,h (or ^w,h when upscaled)', async () => {
      const cases: Array<[string, string]> = [
        ['full/250,', 'full/250,250'],
        ['full/!225,100', 'full/100,100'],
        ['0,0,100,50/^400,', '0,0,100,50/^400,200'],
        ['full/^1000,', 'full/max'],
      ];
      for (const [asked, canonical] of cases) {
        const got = await get(`${base}/${asked}/0/default.jpg`, { method: 'HEAD' });
        assert.equal(got.status, 200, asked);
        assert.ok((got.headers.get('link') ?? '').includes(`/iiif/3/ref/${canonical}/0/default.jpg>;rel="canonical"`), `${asked}: ${got.headers.get('link')}`);
      }
    });

    it('upscaling without ^ is a 400 naming the size', async () => {
      for (const size of ['1001,', ',1001', 'pct:101', '1001,1000', '1000,1001']) {
        await expectError(`${base}/full/${size}/0/default.jpg`, 400, `size '${size}'`);
      }
      await expectError(`${base}/0,0,100,100/101,/0/default.jpg`, 400, "size '101,'");
    });

    it('!w,h larger than the region is never upscaled without ^', async () => {
      // The spec's table says "as large as possible but not larger than the extracted region"; the
      // official validator (size_noup) wants an error. Either way the image must not be upscaled.
      const got = await get(`${base}/0,0,100,100/!400,300/0/default.png`);
      if (got.status === 200) {
        const meta = await sharp(got.body).metadata();
        assert.deepEqual([meta.width, meta.height], [100, 100]);
      } else {
        assert.equal(got.status, 400);
        assert.ok(got.text.includes("size '!400,300'"), got.text);
      }
    });

    it('sizes that round to nothing, zero or the 2.1 keyword full are 400s naming the size', async () => {
      await expectError(`${base}/0,0,1,100/,10/0/default.jpg`, 400, "size ',10'");
      for (const size of ['0,', ',0', '0,0', 'pct:0', '!0,10', 'full', '^full', 'abc', '10,10,10', '!10,', ',', '^', 'pct:-5', 'pct:x', '-10,']) {
        await expectError(`${base}/full/${encodeURIComponent(size)}/0/default.jpg`, 400, `size '${size}'`);
      }
    });
  });

  describe('rotation and mirroring', () => {
    // Not square, so a turn by 90 shows in the dimensions.
    const region = '100,200,300,200';
    let crop: Pixels;
    before(async () => {
      crop = await extract(100, 200, 300, 200);
    });

    for (const degrees of [90, 180, 270] as const) {
      it(`${degrees} turns the region clockwise`, async () => {
        const { pixels } = await getImage(`${base}/${region}/max/${degrees}/default.png`, 'image/png');
        assertSimilar(pixels, rotated(crop, degrees), 0, `rotation ${degrees}`);
      });
    }

    it('!0 mirrors left to right', async () => {
      const { pixels, got } = await getImage(`${base}/${region}/max/!0/default.png`, 'image/png');
      assertSimilar(pixels, mirrored(crop), 0, 'mirror');
      assert.match(got.headers.get('link') ?? '', /\/max\/!0\/default\.png>;rel="canonical"/);
    });

    it('!90 mirrors first, then turns', async () => {
      const { pixels } = await getImage(`${base}/${region}/max/!90/default.png`, 'image/png');
      assertSimilar(pixels, rotated(mirrored(crop), 90), 0, 'mirror then rotate');
      // Turning first and mirroring after would give a different picture.
      assert.notDeepEqual(pixels.data, mirrored(rotated(crop, 90)).data);
    });

    it('rotation happens after scaling', async () => {
      const { pixels } = await getImage(`${base}/${region}/150,/90/default.png`, 'image/png');
      assert.deepEqual([pixels.width, pixels.height], [100, 150]);
      const scaled = await reference((i) => i.extract({ left: 100, top: 200, width: 300, height: 200 }).resize(150, 100, LANCZOS));
      assertSimilar(pixels, rotated(scaled, 90), 0.5, 'scaled then rotated');
    });

    it('360 is the same as 0', async () => {
      const { pixels, got } = await getImage(`${base}/${region}/max/360/default.png`, 'image/png');
      assertSimilar(pixels, crop, 0, '360');
      assert.match(got.headers.get('link') ?? '', /\/max\/0\/default\.png>;rel="canonical"/);
    });

    it('22.5 in png: the bounding box of the turned region, with transparent corners', async () => {
      const { pixels, got } = await getImage(`${base}/${region}/max/22.5/default.png`, 'image/png');
      const rad = (22.5 * Math.PI) / 180;
      const bw = 300 * Math.cos(rad) + 200 * Math.sin(rad);
      const bh = 300 * Math.sin(rad) + 200 * Math.cos(rad);
      assert.ok(Math.abs(pixels.width - bw) <= 1 && Math.abs(pixels.height - bh) <= 1, `${pixels.width}×${pixels.height} vs ${bw}×${bh}`);
      assert.equal(pixels.channels, 4, 'has an alpha channel');
      for (const [x, y] of [[0, 0], [pixels.width - 1, 0], [0, pixels.height - 1], [pixels.width - 1, pixels.height - 1]] as const) {
        assert.equal(pixelAt(pixels, x, y)[3], 0, `corner ${x},${y} is transparent`);
      }
      assert.equal(pixelAt(pixels, pixels.width >> 1, pixels.height >> 1)[3], 255, 'the middle is opaque');
      const want = await reference((i) =>
        i.extract({ left: 100, top: 200, width: 300, height: 200 }).ensureAlpha().rotate(22.5, { background: { r: 0, g: 0, b: 0, alpha: 0 } }),
      );
      assertSimilar(pixels, want, 1, 'rotation 22.5');
      assert.match(got.headers.get('link') ?? '', /\/max\/22\.5\/default\.png>;rel="canonical"/);
    });

    it('22.5 in jpg: the corners are filled white', async () => {
      const { pixels } = await getImage(`${base}/${region}/max/22.5/default.jpg`, 'image/jpeg');
      assert.ok(Math.abs(pixels.width - 354) <= 1 && Math.abs(pixels.height - 300) <= 1, `${pixels.width}×${pixels.height}`);
      for (const [x, y] of [[1, 1], [pixels.width - 2, pixels.height - 2]] as const) {
        assert.ok(pixelAt(pixels, x, y).every((v) => v >= 240), `corner ${x},${y} is white: ${pixelAt(pixels, x, y)}`);
      }
    });

    it('out-of-range or malformed rotations are 400s naming the rotation', async () => {
      for (const rotation of ['361', '-90', 'abc', '!!90', '90deg', '', '!', '1e2', '+90']) {
        await expectError(`${base}/full/max/${encodeURIComponent(rotation)}/default.jpg`, 400, `rotation '${rotation}'`);
      }
    });
  });

  describe('qualities', () => {
    const region = '0,0,400,300';
    let crop: Pixels;
    before(async () => {
      crop = await extract(0, 0, 400, 300);
    });

    it('default and color are the colour image', async () => {
      for (const quality of ['default', 'color']) {
        const { pixels } = await getImage(`${base}/${region}/max/0/${quality}.png`, 'image/png');
        assertSimilar(pixels, crop, 0, quality);
      }
    });

    it('gray has one channel (or equal channels) with the luminance of the source', async () => {
      const { pixels } = await getImage(`${base}/${region}/max/0/gray.png`, 'image/png');
      const grey = channel(pixels, 0);
      for (let c = 1; c < Math.min(pixels.channels, 3); c++) assert.deepEqual(channel(pixels, c).data, grey.data, `channel ${c} equals channel 0`);
      assertSimilar(grey, await reference((i) => i.extract({ left: 0, top: 0, width: 400, height: 300 }).grayscale().toColourspace('b-w')), 1, 'gray');
      // Not just one of the colour channels.
      assert.ok(channel(crop, 0).data.compare(grey.data) !== 0 && channel(crop, 2).data.compare(grey.data) !== 0);
    });

    it('gray in jpg decodes to (nearly) equal channels', async () => {
      const { pixels } = await getImage(`${base}/${region}/max/0/gray.jpg`, 'image/jpeg');
      const colour = await decode(toSharp(pixels), 3);
      let spread = 0;
      for (let i = 0; i < colour.data.length; i += 3) spread = Math.max(spread, Math.abs(colour.data[i]! - colour.data[i + 2]!));
      assert.ok(spread <= 3, `colour spread ${spread}`);
    });

    it('bitonal has only black and white, thresholded like the source', async () => {
      const { pixels } = await getImage(`${base}/${region}/max/0/bitonal.png`, 'image/png');
      const values = new Set(pixels.data);
      assert.deepEqual([...values].sort((a, b) => a - b), [0, 255]);
      const black = channel(pixels, 0).data.filter((v) => v === 0).length / (400 * 300);
      assert.ok(black > 0.05 && black < 0.95, `black share ${black}`);
      assertSimilar(channel(pixels, 0), channel(await reference((i) => i.extract({ left: 0, top: 0, width: 400, height: 300 }).threshold(128)), 0), 0, 'bitonal');
    });

    it('an unknown quality is a 400 naming it', async () => {
      for (const quality of ['fancy', 'grey', 'colour', 'native', 'Default', '']) {
        await expectError(`${base}/full/max/0/${quality}.jpg`, 400, quality === '' ? 'quality.format' : `quality '${quality}'`);
      }
    });
  });

  describe('formats', () => {
    const formats = [
      { format: 'jpg', type: 'image/jpeg', sharp: 'jpeg', tolerance: 4 },
      { format: 'png', type: 'image/png', sharp: 'png', tolerance: 0 },
      { format: 'webp', type: 'image/webp', sharp: 'webp', tolerance: 4 },
      { format: 'tif', type: 'image/tiff', sharp: 'tiff', tolerance: 0 },
      { format: 'gif', type: 'image/gif', sharp: 'gif', tolerance: 12 },
    ];
    for (const f of formats) {
      it(`${f.format}: ${f.type}, a real ${f.sharp} of the right size and pixels`, async () => {
        const { got, pixels } = await getImage(`${base}/200,100,400,300/200,/0/default.${f.format}`, f.type);
        const meta = await sharp(got.body).metadata();
        assert.equal(meta.format, f.sharp);
        assert.deepEqual([meta.width, meta.height], [200, 150]);
        const want = await reference((i) => i.extract({ left: 200, top: 100, width: 400, height: 300 }).resize(200, 150, LANCZOS));
        assertSimilar(await decode(toSharp(pixels), 3), want, f.tolerance, f.format);
      });
    }

    it('an unsupported or unknown format is a 400 naming it', async () => {
      for (const format of ['jp2', 'pdf', 'bmp', 'jpeg', 'tiff', 'svg', 'JPG']) {
        await expectError(`${base}/full/max/0/default.${format}`, 400, `format '${format}'`);
      }
      await expectError(`${base}/full/max/0/default`, 400, "quality.format 'default'");
      await expectError(`${base}/full/max/0/.jpg`, 400, "quality.format '.jpg'");
    });
  });

  describe('info.json', () => {
    it('has every required property, the level-2 profile and the extras', async () => {
      const got = await get(`${base}/info.json`);
      assert.equal(got.status, 200);
      const info = JSON.parse(got.text) as Record<string, unknown>;
      assert.equal(Object.keys(info)[0], '@context', '@context comes first');
      assert.equal(info['@context'], 'http://iiif.io/api/image/3/context.json');
      assert.equal(info.id, `${server.url}/iiif/3/ref`);
      assert.equal(info.type, 'ImageService3');
      assert.equal(info.protocol, 'http://iiif.io/api/image');
      assert.equal(info.profile, 'level2');
      assert.equal(info.width, 1000);
      assert.equal(info.height, 1000);
      assert.equal(info.maxArea, 25_000_000, 'sizeUpscaling requires maxWidth or maxArea');
      assert.deepEqual(info.sizes, [
        { width: 500, height: 500 },
        { width: 1000, height: 1000 },
      ]);
      assert.deepEqual(info.tiles, [{ width: 512, height: 512, scaleFactors: [1, 2] }]);
      assert.deepEqual(info.extraQualities, ['color', 'gray', 'bitonal']);
      assert.deepEqual([...(info.extraFormats as string[])].sort(), ['gif', 'tif', 'webp']);
      assert.deepEqual(info.preferredFormats, ['jpg']);
      const features = info.extraFeatures as string[];
      for (const feature of ['baseUriRedirect', 'canonicalLinkHeader', 'cors', 'jsonldMediaType', 'mirroring', 'profileLinkHeader', 'regionByPct', 'regionByPx', 'regionSquare', 'rotationArbitrary', 'rotationBy90s', 'sizeByConfinedWh', 'sizeByH', 'sizeByPct', 'sizeByW', 'sizeByWh', 'sizeUpscaling']) {
        assert.ok(features.includes(feature), `extraFeatures has ${feature}`);
      }
    });

    it('every advertised size and tile can be requested and has the advertised dimensions', async () => {
      const info = (await (await fetch(`${base}/info.json`)).json()) as {
        sizes: Array<{ width: number; height: number }>;
        tiles: Array<{ width: number; height: number; scaleFactors: number[] }>;
      };
      for (const { width, height } of info.sizes) {
        const { pixels } = await getImage(`${base}/full/${width},${height}/0/default.jpg`, 'image/jpeg');
        assert.deepEqual([pixels.width, pixels.height], [width, height]);
      }
      for (const tile of info.tiles) {
        for (const factor of tile.scaleFactors) {
          const span = tile.width * factor;
          const w = Math.ceil(Math.min(span, 1000) / factor);
          const { pixels } = await getImage(`${base}/0,0,${Math.min(span, 1000)},${Math.min(span, 1000)}/${w},/0/default.jpg`, 'image/jpeg');
          assert.deepEqual([pixels.width, pixels.height], [w, w], `tile at scale ${factor}`);
        }
      }
    });

    it('an unknown identifier is a 404 for info.json and images', async () => {
      await expectError(`${server.url}/iiif/3/nothing-here/info.json`, 404, "identifier 'nothing-here'");
      await expectError(`${server.url}/iiif/3/nothing-here/full/max/0/default.jpg`, 404, "identifier 'nothing-here'");
    });
  });

  describe('with size limits (maxWidth 400, maxHeight 300, maxArea 60000)', () => {
    let limited: RunningServer;
    let lbase: string;
    const LIMITS = { maxWidth: 400, maxHeight: 300, maxArea: 60_000 };
    const within = (w: number, h: number) => w <= LIMITS.maxWidth && h <= LIMITS.maxHeight && w * h <= LIMITS.maxArea;

    before(async () => {
      limited = await startServer(images, LIMITS);
      lbase = `${limited.url}/iiif/3/ref`;
    });
    after(async () => {
      await limited.close();
    });

    it('info.json advertises the limits, and its sizes and tiles keep to them', async () => {
      const info = (await (await fetch(`${lbase}/info.json`)).json()) as Record<string, unknown>;
      assert.equal(info.maxWidth, 400);
      assert.equal(info.maxHeight, 300);
      assert.equal(info.maxArea, 60_000);
      for (const s of info.sizes as Array<{ width: number; height: number }>) assert.ok(within(s.width, s.height), JSON.stringify(s));
      for (const t of info.tiles as Array<{ width: number; height: number }>) assert.ok(within(t.width, t.height), JSON.stringify(t));
    });

    it('max is the largest size within the limits, keeping the aspect ratio', async () => {
      const { pixels, got } = await getImage(`${lbase}/full/max/0/default.png`, 'image/png');
      const { width: w, height: h } = pixels;
      assert.ok(within(w, h), `${w}×${h}`);
      assert.equal(w, h, 'aspect ratio kept');
      assert.ok(!within(w + 1, h + 1), `${w}×${h} could be larger`);
      assert.match(got.headers.get('link') ?? '', /\/full\/max\/0\/default\.png>;rel="canonical"/);
      assertSimilar(pixels, await reference((i) => i.resize(w, h, LANCZOS)), 0.5, 'limited max');
    });

    it('^max upscales a small region up to the limits', async () => {
      const { pixels, got } = await getImage(`${lbase}/0,0,100,50/^max/0/default.png`, 'image/png');
      const { width: w, height: h } = pixels;
      assert.ok(w > 100 && within(w, h) && !within(w + 2, h + 1), `${w}×${h}`);
      assert.ok(Math.abs(w / h - 2) < 0.02, `aspect ${w / h}`);
      assert.match(got.headers.get('link') ?? '', /\/0,0,100,50\/\^max\/0\/default\.png>;rel="canonical"/);
    });

    it('requests over a limit are 400s naming the limit', async () => {
      await expectError(`${lbase}/0,0,1000,100/401,/0/default.jpg`, 400, 'maxWidth 400');
      await expectError(`${lbase}/0,0,100,1000/,301/0/default.jpg`, 400, 'maxHeight 300');
      await expectError(`${lbase}/full/250,250/0/default.jpg`, 400, 'maxArea 60000');
      await expectError(`${lbase}/0,0,100,100/^1000,/0/default.jpg`, 400, 'maxWidth 400');
      await expectError(`${lbase}/full/pct:50/0/default.jpg`, 400, "size 'pct:50'");
      const ok = await getImage(`${lbase}/full/240,240/0/default.jpg`, 'image/jpeg');
      assert.deepEqual([ok.pixels.width, ok.pixels.height], [240, 240]);
    });
  });
});
