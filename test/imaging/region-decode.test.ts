import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { parseImageRequest } from '../../src/image-api/grammar.js';
import { resolveRequest } from '../../src/image-api/resolve.js';
import { chooseLevel, render } from '../../src/imaging/executor.js';
import { nativeAddon } from '../../src/imaging/native.js';
import { openSource, type OpenedSource } from '../../src/imaging/open-source.js';
import { decodeRegion, planRegionDecode, regionDecodeStats, releaseRegion } from '../../src/imaging/region-decode.js';
import type { ImageSource } from '../../src/imaging/source.js';
import { finishStats } from '../../src/imaging/finish-native.js';
import { CLI } from '../helpers/cli.js';
import { decode, fetchBytes, meanAbsDiff, type Pixels } from '../helpers/pixels.js';
import { REFERENCE_PNG, startServer, tempDir, type RunningServer } from '../helpers/server.js';
import { writeJpegTiledTiff } from '../helpers/tiff.js';

/**
 * Regions of JPEG-tiled TIFF levels decoded by the native addon (libjpeg-turbo, from the stored tiles)
 * against the same requests rendered by libvips: a second server runs with VITRINE_NATIVE=off.
 */

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  return port;
}

/** The reference picture at an odd size, by default with fine noise on top, so a shift of one pixel shows. */
async function picture(width: number, height: number, sigma = 40): Promise<{ data: Buffer; width: number; height: number }> {
  const base = await sharp(REFERENCE_PNG).removeAlpha().resize(width, height, { fit: 'fill' }).raw().toBuffer();
  if (sigma === 0) return { data: base, width, height };
  const noise = await sharp({ create: { width, height, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma } } })
    .raw()
    .toBuffer();
  for (let i = 0; i < base.length; i++) base[i] = Math.max(0, Math.min(255, base[i]! + ((noise[i]! - 128) >> 1)));
  return { data: base, width, height };
}

// Below quality 90 libvips stores YCbCr, chroma subsampled 4:2:0; from 90 on, RGB components (Photometric RGB).
const TILE = { tile: true, tileWidth: 256, tileHeight: 256, compression: 'jpeg', quality: 85 } as const;

describe('regions decoded natively from stored JPEG tiles', () => {
  const native = nativeAddon().binding;
  let dir: string;
  let cleanup: () => Promise<void>;
  let server: RunningServer;
  let fallback: ChildProcess;
  let fallbackUrl: string;
  const sources = new Map<string, OpenedSource>();
  /** The picture of p3.tif, in sRGB, before it was converted to Display P3 and stored. */
  let smooth: { data: Buffer; width: number; height: number };

  before(async () => {
    ({ dir, cleanup } = await tempDir());
    const colour = await picture(1333, 999);
    const raw = (p: typeof colour) => sharp(p.data, { raw: { width: p.width, height: p.height, channels: 3 } });
    // 1333×999: levels 1333, 666, 333, 166 wide; every level has partial edge tiles.
    await raw(colour).tiff({ ...TILE, pyramid: true }).toFile(path.join(dir, 'colour.tif'));
    await raw(colour).tiff({ ...TILE, pyramid: true, quality: 90 }).toFile(path.join(dir, 'colour90.tif'));
    await raw(await picture(1001, 733))
      .toColourspace('b-w')
      .tiff({ ...TILE, pyramid: true })
      .toFile(path.join(dir, 'grey.tif'));
    // One level only: reduced requests are decoded with libjpeg-turbo's DCT scaling. No noise: its
    // filter differs from libvips' lanczos3, and on noise the two differ by more than a misplaced pixel.
    await raw(await picture(901, 677, 0)).tiff(TILE).toFile(path.join(dir, 'flat.tif'));
    await writeJpegTiledTiff(path.join(dir, 'rgb.tif'), await picture(777, 555), { tile: 256 });
    await writeJpegTiledTiff(path.join(dir, 'rgb-smooth.tif'), await picture(777, 555, 0), { tile: 256 });
    smooth = await picture(1333, 999, 0);
    await raw(smooth).withIccProfile('p3').tiff({ ...TILE, pyramid: true }).toFile(path.join(dir, 'p3.tif'));
    for (const name of ['colour.tif', 'colour90.tif', 'grey.tif', 'flat.tif', 'rgb.tif', 'rgb-smooth.tif', 'p3.tif']) sources.set(name, await openSource(path.join(dir, name)));

    server = await startServer(dir);
    const port = await freePort();
    fallback = spawn(process.execPath, [CLI, 'serve', '--images', dir, '--port', String(port), '--log-level', 'warn'], {
      env: { ...process.env, VITRINE_NATIVE: 'off' },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    fallbackUrl = `http://127.0.0.1:${port}`;
    for (let i = 0; i < 150 && !(await fetch(`${fallbackUrl}/health`).then((r) => r.ok, () => false)); i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
  });
  after(async () => {
    fallback.kill('SIGTERM');
    if (fallback.exitCode === null) await once(fallback, 'exit');
    for (const source of sources.values()) await source.close();
    await server.close();
    await cleanup();
  });

  it('has the region decoder in the native addon (CI installs libjpeg-turbo)', () => {
    assert.ok(native, `native addon: ${nativeAddon().reason}`);
    assert.equal(typeof native.decodeJpegTiles, 'function', 'built without jpeglib.h?');
  });

  it('covers the three kinds of JPEG tiles: YCbCr, RGB components, greyscale', () => {
    const grid = (name: string) => sources.get(name)!.info.levels[0]!.jpegTiles!;
    assert.deepEqual([grid('colour.tif').rgb, grid('colour.tif').grey], [false, false]);
    assert.deepEqual([grid('colour90.tif').rgb, grid('rgb.tif').rgb, grid('rgb.tif').tables], [true, true, undefined]);
    assert.equal(grid('grey.tif').grey, true);
  });

  /** Fetches `url` from both servers; asserts the native path served it (or not) and how close the pixels are. */
  async function compare(url: string, expect: { native: boolean; tolerance: number }): Promise<{ native: Pixels; libvips: Pixels; diff: number }> {
    const before = regionDecodeStats.native;
    const { body } = await fetchBytes(`${server.url}/iiif/3/${url}`);
    assert.equal(regionDecodeStats.native - before, expect.native ? 1 : 0, `${url}: native region decode ${expect.native ? 'not ' : ''}used`);
    const { body: reference } = await fetchBytes(`${fallbackUrl}/iiif/3/${url}`);
    const [a, b] = [await decode(body), await decode(reference)];
    const diff = meanAbsDiff(a, b);
    assert.ok(diff <= expect.tolerance, `${url}: mean absolute difference ${diff.toFixed(3)} exceeds ${expect.tolerance}`);
    return { native: a, libvips: b, diff };
  }

  // PNG out, so the comparison sees the decoders and not two JPEG encodings. Both run libjpeg-turbo's
  // accurate integer IDCT and fancy upsampling, which are bit-exact everywhere: the pixels are equal
  // (a little slack for another libjpeg-turbo build; one pixel of shift costs far more, see below).
  const exact = { native: true, tolerance: 0.1 };
  const cases: Array<[string, string]> = [
    ['colour.tif/0,0,1333,999/1333,999/0/default.png', 'the whole full-resolution level, edge tiles partial'],
    ['colour.tif/200,100,600,500/600,500/0/default.png', 'a region crossing tile boundaries, unscaled'],
    ['colour.tif/255,255,3,3/3,3/0/default.png', 'a few pixels straddling four tiles'],
    ['colour.tif/1100,800,233,199/150,/0/default.png', 'the bottom-right corner, partial tiles, resized'],
    ['colour.tif/0,700,1333,299/400,/0/default.png', 'the bottom strip from level 1'],
    ['colour.tif/123,45,1111,888/300,/0/default.png', 'a level-1 region at odd offsets'],
    ['colour.tif/123,45,1111,888/200,/0/default.png', 'a level-2 region at odd offsets'],
    ['colour.tif/full/166,/0/default.png', 'the smallest level, whole'],
    ['colour.tif/301,17,600,700/250,/0/default.png', 'odd offsets in level 1, resized'],
    ['colour90.tif/0,0,1333,999/1333,999/0/default.png', 'RGB components, whole level'],
    ['colour90.tif/123,45,1111,888/300,/0/default.png', 'RGB components, level 2'],
    ['grey.tif/0,0,1001,733/max/0/default.png', 'greyscale, whole level'],
    ['grey.tif/500,300,501,433/250,/0/default.png', 'greyscale edge region, level 1'],
    ['grey.tif/17,19,700,500/333,/0/gray.png', 'greyscale, gray quality'],
    ['rgb.tif/0,0,777,555/max/0/default.png', 'Photometric RGB tiles without JPEGTables, whole'],
    ['rgb.tif/250,250,400,300/400,/0/default.png', 'Photometric RGB, crossing tiles'],
  ];
  for (const [url, what] of cases) {
    it(`${what}: same pixels as libvips`, async () => {
      await compare(url, exact);
    });
  }

  it('mirror, rotation, gray and bitonal qualities and other formats take the native path too', async () => {
    await compare('colour.tif/200,100,600,500/299,/!0/default.png', exact);
    await compare('colour.tif/200,100,600,500/299,/90/default.png', exact);
    await compare('colour.tif/200,100,600,500/299,/22.5/default.png', { native: true, tolerance: 1 });
    await compare('colour.tif/200,100,600,500/299,/0/gray.png', exact);
    await compare('colour.tif/200,100,600,500/299,/0/bitonal.png', { native: true, tolerance: 2 });
    // JPEG out: both encoders see nearly the same pixels, so nearly the same bytes come back.
    await compare('colour.tif/200,100,600,500/299,/0/default.jpg', { native: true, tolerance: 1 });
    await compare('colour.tif/200,100,600,500/299,/0/default.webp', { native: true, tolerance: 1 });
  });

  // Every quality, rotation by a multiple of 90° with and without mirroring, upscaled and reduced
  // sizes, PNG and WebP (lossy, so looser) out: the native path's answer against libvips' (VITRINE_NATIVE=off).
  const matrix: string[] = [];
  for (const quality of ['default', 'color', 'gray', 'bitonal']) {
    for (const rotation of ['0', '90', '180', '270', '!0', '!90', '!270']) matrix.push(`colour.tif/200,100,600,500/299,/${rotation}/${quality}.png`);
    matrix.push(`colour.tif/1100,800,233,199/^500,/90/${quality}.png`, `colour90.tif/123,45,1111,888/300,/!180/${quality}.webp`);
    // JPEG out is encoded by the addon too (libjpeg-turbo, as sharp's encoder with the same settings).
    matrix.push(`colour.tif/123,45,1111,888/300,/!90/${quality}.jpg`, `colour.tif/1100,800,233,199/^500,/270/${quality}.jpg`);
  }
  matrix.push('rgb.tif/250,250,200,150/^640,/270/gray.png', 'grey.tif/17,19,700,500/^1000,/!90/bitonal.png', 'colour.tif/40,30,50,40/^1200,/180/default.webp');
  for (const url of matrix) {
    it(`${url}: natively decoded, same pixels as libvips`, async () => {
      // Thresholding turns a one-level difference at 128 into a 255 one: a few pixels may flip.
      const tolerance = url.endsWith('.webp') ? 1 : url.includes('bitonal') ? 0.5 : 0.1;
      const [finished, upscaled, reduced] = [finishStats.native, finishStats.upscaled, finishStats.reduced];
      await compare(url, { native: true, tolerance });
      // Resized, turned, thresholded (and JPEG-encoded) by the addon as well, with libvips' own
      // arithmetic: an upscaled size (^) upsized, a smaller one reduced.
      assert.equal(finishStats.native - finished, 1, `${url}: not finished by the addon`);
      assert.equal(finishStats.upscaled - upscaled, url.includes('/^') ? 1 : 0, `${url}: native upsizing ${url.includes('/^') ? 'not ' : ''}used`);
      assert.equal(finishStats.reduced - reduced, url.includes('/^') ? 0 : 1, `${url}: native reduce ${url.includes('/^') ? '' : 'not '}used`);
    });
  }

  it('reduces with DCT scaling (1/2, 1/4) only where a single level holds 4×, 8× the pixels needed', async () => {
    const flat = sources.get('flat.tif')!;
    const denominators: number[] = [];
    for (const size of ['450,', '225,', '112,', '56,']) {
      const request = resolveRequest(parseImageRequest(3, 'full', size, '0', 'default.png'), flat.info, {});
      const level = chooseLevel(flat.info.levels, request);
      const plan = planRegionDecode(level, { left: 0, top: 0, right: level.width, bottom: level.height }, request.size);
      denominators.push(plan!.denominator);
      // Not the same filter as libvips' (the DCT drops high frequencies blockwise, lanczos3 does the
      // rest), so looser than unscaled; the scaled decode itself is checked exactly further down.
      await compare(`flat.tif/full/${size}/0/default.png`, { native: true, tolerance: 2 });
    }
    assert.deepEqual(denominators, [1, 2, 4, 4]);
    await compare('flat.tif/100,100,700,500/150,/0/default.png', { native: true, tolerance: 2 });
    await compare('rgb-smooth.tif/0,0,777,555/190,/0/default.png', { native: true, tolerance: 2 });
  });

  it('a comparison this tight sees a region off by one pixel', async () => {
    // The check above would miss a misplaced tile or an off-by-one crop if it could not tell these apart.
    const { body: a } = await fetchBytes(`${server.url}/iiif/3/colour.tif/200,100,600,500/600,500/0/default.png`);
    const { body: b } = await fetchBytes(`${fallbackUrl}/iiif/3/colour.tif/201,100,600,500/600,500/0/default.png`);
    const diff = meanAbsDiff(await decode(a), await decode(b));
    assert.ok(diff > 20 * exact.tolerance, `one pixel off gives only ${diff.toFixed(2)}`);
  });

  it('leaves a level with an ICC profile to libvips, which converts it to sRGB', async () => {
    // p3.tif holds a picture converted to Display P3, with the profile: libvips converts it back.
    const { native: served } = await compare('p3.tif/200,100,600,500/600,/0/default.png', { native: false, tolerance: 0 });
    const original = await decode(sharp(smooth.data, { raw: { width: smooth.width, height: smooth.height, channels: 3 } }).extract({ left: 200, top: 100, width: 600, height: 500 }));
    assert.ok(meanAbsDiff(served, original) < 3, `served in sRGB (${meanAbsDiff(served, original).toFixed(2)})`);
    // The stored P3 values, as a decode that ignored the profile would serve them, are visibly off.
    const p3 = sources.get('p3.tif')!;
    const level = { ...p3.info.levels[0]!, iccProfile: false };
    const region = await decodeRegion(p3, planRegionDecode(level, { left: 200, top: 100, right: 800, bottom: 600 }, { width: 600, height: 500 })!, native!);
    const stored: Pixels = { width: 600, height: 500, channels: 3, data: Buffer.from(region.data) };
    releaseRegion(region);
    assert.ok(meanAbsDiff(stored, original) > 2 * meanAbsDiff(served, original) + 1, `the profile matters (${meanAbsDiff(stored, original).toFixed(2)})`);
  });

  it('stored tiles are still passed through, not decoded', async () => {
    await compare('colour.tif/256,256,256,256/256,256/0/default.jpg', { native: false, tolerance: 0 });
  });

  describe('decodeRegion and the addon directly', () => {
    it('decodes a region of each level like libvips extracts it', async () => {
      const source = sources.get('colour.tif')!;
      for (const [index, level] of source.info.levels.entries()) {
        const rect = { left: Math.floor(level.width / 5), top: Math.floor(level.height / 3), right: level.width, bottom: level.height };
        const size = { width: rect.right - rect.left, height: rect.bottom - rect.top };
        const plan = planRegionDecode(level, rect, size);
        assert.ok(plan, `level ${index} qualifies`);
        assert.equal(plan.denominator, 1);
        const region = await decodeRegion(source, plan, native!);
        const got: Pixels = { width: region.width, height: region.height, channels: region.channels, data: Buffer.from(region.data) };
        releaseRegion(region);
        const want = await decode(sharp(source.name, { page: index }).extract({ left: rect.left, top: rect.top, ...size }));
        const diff = meanAbsDiff(got, want);
        assert.ok(diff <= 0.1, `level ${index}: ${diff.toFixed(3)}`);
      }
    });

    it('decodes colour tiles straight to grey, byte for byte what libvips makes of the colour region', async () => {
      // The gray and bitonal qualities: one grey channel out of the decoder, not RGB converted by libvips.
      for (const name of ['colour.tif', 'colour90.tif', 'rgb.tif']) {
        const source = sources.get(name)!;
        const level = source.info.levels[0]!;
        const rect = { left: 37, top: 201, right: 555, bottom: 500 };
        const size = { width: rect.right - rect.left, height: rect.bottom - rect.top };
        const plan = planRegionDecode(level, rect, size, true)!;
        assert.deepEqual([plan.channels, plan.grey], [1, true], `${name}: planned grey`);
        const region = await decodeRegion(source, plan, native!);
        const got: Pixels = { width: region.width, height: region.height, channels: region.channels, data: Buffer.from(region.data) };
        releaseRegion(region);
        const colour = await decodeRegion(source, planRegionDecode(level, rect, size)!, native!);
        const want = await decode(sharp(Buffer.from(colour.data), { raw: { width: colour.width, height: colour.height, channels: 3 } }).grayscale(), 1);
        releaseRegion(colour);
        let differing = 0;
        for (let i = 0; i < want.data.length; i++) if (want.data[i] !== got.data[i]) differing++;
        assert.ok(differing <= want.data.length / 10000, `${name}: ${differing} of ${want.data.length} grey pixels differ from libvips'`);
      }
      // A greyscale level is already one channel: nothing to convert.
      const grey = sources.get('grey.tif')!.info.levels[0]!;
      assert.equal(planRegionDecode(grey, { left: 0, top: 0, right: 100, bottom: 100 }, { width: 100, height: 100 }, true)!.grey, false);
    });

    it('DCT-scaled regions are the stored tiles decoded whole at 1/2 and 1/4, put in place', async () => {
      // The reference decodes each tile alone and whole; the region decode crops columns, skips rows,
      // stops early and places the parts: the two must agree.
      for (const name of ['flat.tif', 'rgb-smooth.tif']) {
        const source = sources.get(name)!;
        const level = source.info.levels[0]!;
        const grid = level.jpegTiles!;
        for (const denominator of [2, 4] as const) {
          const scaled = 256 / denominator;
          const across = Math.ceil(level.width / 256);
          const down = Math.ceil(level.height / 256);
          const canvas = Buffer.alloc(across * scaled * down * scaled * 3);
          for (let index = 0; index < across * down; index++) {
            const [col, row] = [index % across, Math.floor(index / across)];
            await native!.decodeJpegTiles!({
              tables: grid.tables,
              tiles: [await source.readBytes(grid.offsets[index]!, grid.byteCounts[index]!)],
              placements: Int32Array.from([0, 0, scaled, scaled, col * scaled, row * scaled]),
              tileWidth: 256,
              tileHeight: 256,
              denominator,
              colour: grid.rgb ? 2 : 1,
              out: canvas,
              width: across * scaled,
              height: down * scaled,
            });
          }
          const rect = { left: 123, top: 77, right: 750, bottom: 540 };
          // An output size 2 × denominator times smaller than the region asks for that scaling.
          const plan = planRegionDecode(level, rect, { width: Math.floor((rect.right - rect.left) / (2 * denominator)), height: 20 })!;
          assert.equal(plan.denominator, denominator);
          const region = await decodeRegion(source, plan, native!);
          const got: Pixels = { width: region.width, height: region.height, channels: 3, data: Buffer.from(region.data) };
          releaseRegion(region);
          const [x0, y0] = [Math.floor(rect.left / denominator), Math.floor(rect.top / denominator)];
          assert.deepEqual([got.width, got.height], [Math.ceil(rect.right / denominator) - x0, Math.ceil(rect.bottom / denominator) - y0]);
          const want = await decode(
            sharp(canvas, { raw: { width: across * scaled, height: down * scaled, channels: 3 } }).extract({ left: x0, top: y0, width: got.width, height: got.height }),
          );
          const diff = meanAbsDiff(got, want);
          assert.ok(diff <= 0.1, `${name} 1/${denominator}: ${diff.toFixed(3)}`);
        }
      }
    });

    it('runs off the JavaScript thread: the event loop turns while the addon decodes', async () => {
      const source = sources.get('colour.tif')!;
      const level = source.info.levels[0]!;
      const grid = level.jpegTiles!;
      const across = Math.ceil(level.width / 256);
      const tiles: Buffer[] = [];
      const placements: number[] = [];
      for (let index = 0; index < across * Math.ceil(level.height / 256); index++) {
        tiles.push(await source.readBytes(grid.offsets[index]!, grid.byteCounts[index]!));
        const [x, y] = [(index % across) * 256, Math.floor(index / across) * 256];
        placements.push(0, 0, Math.min(256, level.width - x), Math.min(256, level.height - y), x, y);
      }
      const out = Buffer.alloc(level.width * level.height * 3);
      let turns = 0;
      let done = false;
      const spin = (): void => {
        if (done) return;
        turns++;
        setImmediate(spin);
      };
      setImmediate(spin);
      // A synchronous decode would hand back a settled promise: no setImmediate could run before it.
      await native!.decodeJpegTiles!({ tables: grid.tables, tiles, placements: Int32Array.from(placements), tileWidth: 256, tileHeight: 256, denominator: 1, colour: 1, out, width: level.width, height: level.height });
      done = true;
      assert.ok(turns > 0, 'no event-loop turn happened during the decode');
      const want = await decode(sharp(source.name, { page: 0 }));
      assert.ok(meanAbsDiff({ width: level.width, height: level.height, channels: 3, data: out }, want) <= 0.1, 'and it decoded the level');
    });

    it('rejects a placement outside its tile or the destination before touching memory', () => {
      const out = Buffer.alloc(16 * 16 * 3);
      const job = { tables: undefined, tiles: [Buffer.alloc(100)], tileWidth: 16, tileHeight: 16, denominator: 1 as const, colour: 1 as const, out, width: 16, height: 16 };
      assert.throws(() => native!.decodeJpegTiles!({ ...job, placements: Int32Array.from([8, 0, 9, 16, 0, 0]) }), /outside/);
      assert.throws(() => native!.decodeJpegTiles!({ ...job, placements: Int32Array.from([0, 0, 16, 16, 1, 0]) }), /outside/);
      assert.throws(() => native!.decodeJpegTiles!({ ...job, out: Buffer.alloc(10), placements: Int32Array.from([0, 0, 16, 16, 0, 0]) }), /smaller/);
    });

    it('rejects corrupt tile data, and render() then falls back to libvips', async () => {
      const source = sources.get('colour.tif')!;
      // The same file, but every stored tile read comes back damaged (its entropy-coded data zeroed).
      const damaged: ImageSource = {
        ...source,
        info: source.info,
        localFile: () => source.localFile(),
        readBytes: async (offset, length) => {
          const bytes = Buffer.from(await source.readBytes(offset, length));
          bytes.fill(0, Math.min(bytes.length, 700));
          return bytes;
        },
      };
      const request = resolveRequest(parseImageRequest(3, '200,100,600,500', '300,', '0', 'default.png'), source.info, {});
      const level = chooseLevel(source.info.levels, request);
      const plan = planRegionDecode(level, { left: 100, top: 50, right: 400, bottom: 300 }, request.size)!;
      await assert.rejects(decodeRegion(damaged, plan, native!), /decodeJpegTiles/);

      const failed = regionDecodeStats.failed;
      const options = { jpegQuality: 80, maxInputPixels: 1e9, kernel: 'lanczos3' as const };
      const got = await decode(await render(damaged, request, options, native));
      assert.equal(regionDecodeStats.failed, failed + 1, 'the native decode failed');
      const want = await decode(await render(source, request, options, undefined));
      assert.equal(meanAbsDiff(got, want), 0, 'libvips rendered it from the file');
    });

    it('plans only what it can decode: no ICC profile, no missing tiles, no huge regions', () => {
      const colour = sources.get('colour.tif')!.info.levels[0]!;
      const whole = { left: 0, top: 0, right: colour.width, bottom: colour.height };
      assert.ok(planRegionDecode(colour, whole, colour));
      assert.equal(planRegionDecode(sources.get('p3.tif')!.info.levels[0]!, whole, colour), undefined, 'ICC profile');
      assert.equal(planRegionDecode({ ...colour, jpegTiles: undefined }, whole, colour), undefined, 'not JPEG-tiled');
      const sparse = { ...colour.jpegTiles!, byteCounts: colour.jpegTiles!.byteCounts.map((n, i) => (i === 6 ? 0 : n)) };
      assert.equal(planRegionDecode({ ...colour, jpegTiles: sparse }, whole, colour), undefined, 'a tile is missing');
      assert.ok(planRegionDecode({ ...colour, jpegTiles: sparse }, { left: 0, top: 0, right: 256, bottom: 256 }, colour), 'the region avoids it');
      const huge = { ...colour, width: 40000, height: 40000, jpegTiles: { ...colour.jpegTiles!, offsets: new Array(157 * 157).fill(8), byteCounts: new Array(157 * 157).fill(8) } };
      assert.equal(planRegionDecode(huge, { left: 0, top: 0, right: 4000, bottom: 3000 }, { width: 4000, height: 3000 }), undefined, 'too large');
      assert.ok(planRegionDecode(huge, { left: 0, top: 0, right: 2000, bottom: 2000 }, { width: 2000, height: 2000 }));
    });
  });
});
