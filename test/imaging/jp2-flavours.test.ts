import assert from 'node:assert/strict';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { cut } from '../../src/imaging/jp2/decoder.js';
import { nativeAddon } from '../../src/imaging/native.js';
import type { ConversionReport } from '../../src/pipeline/run.js';
import { CLI, vitrine } from '../helpers/cli.js';
import { run } from '../helpers/opj.js';
import { get } from '../helpers/iiif.js';
import { HEIGHT, makeFlavours, WIDTH, type Flavour } from '../helpers/jp2-flavours.js';
import { boxReduce, opjComponents, opjReference } from '../helpers/opj-reference.js';
import { crop, decode, type Pixels } from '../helpers/pixels.js';
import { startServer, tempDir, type RunningServer } from '../helpers/server.js';

/**
 * JPEG 2000 flavours that archives hold (ICC profiles, CIELab, sYCC, e-sYCC, palettes, CMYK with
 * alpha, subsampled components, SOP/EPH markers with tiny tiles and an image offset), each served at
 * full size, at a reduced size and as a region, and converted, compared with OpenJPEG's own
 * opj_decompress and the colour conversions it applies (Little CMS for ICC profiles and CIELab).
 */

const native = nativeAddon().binding;
/** The files makeFlavours writes, one test each. */
const FLAVOURS = [
  'icc-romm-8.jp2', 'icc-romm-16.jp2', 'icc-grey.jp2', 'lab.jp2', 'sycc.jp2', 'esycc.jp2', 'palette.jp2', 'cmyk-alpha.jp2',
  'ycc422.j2k', 'first-sub2.j2k', 'first-sub4.j2k', 'all-sub.j2k', 'sop-eph.j2k', 'ppm.j2k',
];

let dir: string;
let cleanup: () => Promise<void>;
let flavours: Flavour[];
let server: RunningServer;
/** Without the block cache: every request is its own area decode (and the cache-off path of issue 14). */
let direct: RunningServer;

before(async () => {
  ({ dir, cleanup } = await tempDir('vitrine-jp2-flavours-'));
  await mkdir(path.join(dir, 'images'));
  flavours = await makeFlavours(path.join(dir, 'images'));
  assert.deepEqual(flavours.map((f) => f.file).sort(), [...FLAVOURS].sort(), 'one test per flavour');
  server = await startServer(path.join(dir, 'images'), { jp2Decoder: 'native' });
  direct = await startServer(path.join(dir, 'images'), { jp2Decoder: 'native', jp2CacheMb: 0 });
});
after(async () => {
  await server?.close();
  await direct?.close();
  await cleanup();
});

/**
 * Compares two images sample by sample: the mean difference and the share of samples off by more
 * than 2 must stay small (a colour transform at 8 or 16 bits rounds differently; a wrong picture is
 * off nearly everywhere; JPEG-compressed pages of a conversion are let off with `farShare` 1). `skip`
 * leaves out a first row and column (see Flavour.leadingEdge).
 */
function assertClose(got: Pixels, want: Pixels, what: string, mean = 1, skip = 0, farShare = 0.01): void {
  assert.deepEqual([got.width, got.height, got.channels], [want.width, want.height, want.channels], `${what}: shape`);
  let sum = 0;
  let far = 0;
  let n = 0;
  for (let y = skip; y < got.height; y++) {
    for (let x = skip; x < got.width; x++) {
      for (let c = 0; c < got.channels; c++) {
        const i = (y * got.width + x) * got.channels + c;
        const d = Math.abs(got.data[i]! - want.data[i]!);
        sum += d;
        if (d > 2) far++;
        n++;
      }
    }
  }
  assert.ok(sum / n <= mean, `${what}: mean difference ${(sum / n).toFixed(2)} over ${mean}`);
  assert.ok(far / n <= farShare, `${what}: ${((100 * far) / n).toFixed(1)} % of samples off by more than 2`);
}

async function served(base: string, flavour: Flavour, params: string): Promise<{ body: Buffer; pixels: Pixels }> {
  const got = await get(`${base}/iiif/3/${flavour.file}/${params}/0/default.png`);
  assert.equal(got.status, 200, `${flavour.file} ${params}: ${got.status} ${got.body.toString('utf8', 0, 300)}`);
  return { body: got.body, pixels: await decode(got.body, flavour.channels) };
}

/** The reference of level `reduce` (see Flavour.reduced). */
async function reducedReference(flavour: Flavour, full: Pixels, reduce: number): Promise<Pixels> {
  const file = path.join(dir, 'images', flavour.file);
  if (flavour.reduced === 'box') return boxReduce(full, flavour.x0, flavour.y0, reduce);
  if (flavour.reduced === 'components') {
    const { x0, y0 } = flavour;
    return opjComponents(file, { x0, y0, x1: x0 + WIDTH, y1: y0 + HEIGHT, factors: flavour.factors! }, reduce);
  }
  return opjReference(file, flavour.channels, reduce);
}

describe('JPEG 2000 flavours, served', { skip: native?.decodeJp2 ? false : 'the native addon has no OpenJPEG decoder' }, () => {
  it('the addon was built with Little CMS (ICC profiles, CIELab)', () => {
    assert.equal(native?.jp2ColourManagement, true);
  });

  for (const name of FLAVOURS) {
    it(`${name} matches opj_decompress at full size, half size and a region, the same bytes every time`, async () => {
      const flavour = flavours.find((f) => f.file === name)!;
      const file = path.join(dir, 'images', flavour.file);
      const what = `${flavour.file} (${flavour.what})`;
      const reference = await opjReference(file, flavour.channels);
      const skip = flavour.leadingEdge ? 1 : 0;
      const full = await served(server.url, flavour, 'full/max');
      assertClose(full.pixels, reference, `${what}, full size`, 1, skip);

      // Half the size: the server decodes resolution level 1 (one pixel larger, the image being odd)
      // and resizes it; the reference level is resized the same way.
      const [w2, h2] = [Math.floor(WIDTH / 2), Math.floor(HEIGHT / 2)];
      const half = await served(server.url, flavour, `full/${w2},${h2}`);
      const level = await reducedReference(flavour, reference, 1);
      const resized = await decode(sharp(level.data, { raw: { width: level.width, height: level.height, channels: level.channels as 1 | 3 | 4 } }).resize(w2, h2, { fit: 'fill' }), flavour.channels);
      assertClose(half.pixels, resized, `${what}, reduced to ${w2}×${h2}`, 1, skip);

      // A region across codestream tiles, at an odd place.
      const [x, y, w, h] = [37, 29, 201, 143];
      const region = await served(direct.url, flavour, `${x},${y},${w},${h}/max`);
      assertClose(region.pixels, crop(reference, x, y, w, h), `${what}, region`);
      const again = await served(direct.url, flavour, `${x},${y},${w},${h}/max`);
      assert.ok(again.body.equals(region.body), `${what}: the same region twice gives the same bytes`);
      const cached = await served(server.url, flavour, `${x},${y},${w},${h}/max`);
      assert.ok(cached.body.equals(region.body), `${what}: the same region through the block cache gives the same bytes`);
    });
  }

  it('an ICC profile changes the colours (the ROMM RGB and linear grey files are not shown as sRGB)', async () => {
    for (const file of ['icc-romm-8.jp2', 'icc-grey.jp2']) {
      const flavour = flavours.find((f) => f.file === file)!;
      const { pixels } = await served(server.url, flavour, 'full/max');
      // The same codestream read as sRGB: opj_decompress without the colour box, on the raw codestream.
      const asCoded = await opjCodedPixels(path.join(dir, 'images', file), flavour.channels);
      let sum = 0;
      for (let i = 0; i < pixels.data.length; i++) sum += Math.abs(pixels.data[i]! - asCoded.data[i]!);
      assert.ok(sum / pixels.data.length > 5, `${file}: the profile makes a visible difference (${(sum / pixels.data.length).toFixed(1)})`);
    }
  });
});

/** The samples as coded, without colour management: the codestream taken out of its JP2 boxes. */
async function opjCodedPixels(file: string, channels: 1 | 3 | 4): Promise<Pixels> {
  const bytes = await readFile(file);
  const raw = `${file}.coded.j2k`;
  await writeFile(raw, bytes.subarray(bytes.indexOf(Buffer.from('jp2c', 'latin1')) + 4));
  return opjReference(raw, channels);
}

describe('JPEG 2000 flavours, converted', { skip: native?.decodeJp2 ? false : 'the native addon has no OpenJPEG decoder' }, () => {
  it('each flavour becomes a pyramidal TIFF with the reference colours, at full size and a reduced level', async () => {
    const masters = path.join(dir, 'masters', 'box');
    await mkdir(masters, { recursive: true });
    for (const flavour of flavours) await copyFile(path.join(dir, 'images', flavour.file), path.join(masters, flavour.file));
    const out = path.join(dir, 'out');
    const result = await vitrine('convert', path.join(dir, 'masters'), '--out', out, '--json', '--quality', '95');
    const report = JSON.parse(result.stdout) as ConversionReport;
    assert.deepEqual(report.failed, []);
    assert.equal(report.totals.converted, flavours.length);
    for (const flavour of flavours) {
      const what = `${flavour.file} (${flavour.what}), converted`;
      const tiff = path.join(out, 'images', 'box', `${path.parse(flavour.file).name}.tif`);
      // Pyramidal TIFFs hold no alpha: compare colours where the master is opaque.
      const channels = flavour.channels === 4 ? 3 : flavour.channels;
      let reference = await opjReference(path.join(masters, flavour.file), flavour.channels);
      let page = await decode(sharp(tiff), channels);
      if (flavour.channels === 4) {
        ({ page, reference } = opaqueOnly(page, reference));
      }
      assertClose(page, reference, `${what}, full size (JPEG quality 95)`, 3, flavour.leadingEdge ? 1 : 0, 1);
      const region = await decode(sharp(tiff).extract({ left: 37, top: 29, width: 201, height: 143 }), channels);
      if (flavour.channels !== 4) assertClose(region, crop(reference, 37, 29, 201, 143), `${what}, region (JPEG quality 95)`, 3, 0, 1);
    }
  });
});

/** The pixels of `page` and `reference` (RGBA) where the reference is opaque, as RGB. */
function opaqueOnly(page: Pixels, reference: Pixels): { page: Pixels; reference: Pixels } {
  const kept: number[] = [];
  const want: number[] = [];
  for (let i = 0; i < reference.width * reference.height; i++) {
    if (reference.data[i * 4 + 3] !== 255) continue;
    for (let c = 0; c < 3; c++) {
      kept.push(page.data[i * 3 + c]!);
      want.push(reference.data[i * 4 + c]!);
    }
  }
  const n = kept.length / 3;
  return { page: { width: n, height: 1, channels: 3, data: Buffer.from(kept) }, reference: { width: n, height: 1, channels: 3, data: Buffer.from(want) } };
}

describe('JPEG 2000 flavours, WebAssembly fallback', () => {
  it('refuses what it cannot show right, naming it, and still serves plain sRGB', async () => {
    const wasm = await startServer(path.join(dir, 'images'), { jp2Decoder: 'wasm' });
    try {
      for (const [file, reason] of [
        ['palette.jp2', /palette/],
        ['ycc422.j2k', /subsampled components/],
        ['lab.jp2', /colour space 14/],
        ['icc-romm-8.jp2', /ICC profile/],
      ] as const) {
        const got = await get(`${wasm.url}/iiif/3/${file}/0,0,64,64/max/0/default.png`);
        assert.equal(got.status, 500, file);
        assert.match(got.body.toString(), reason, file);
      }
      const sop = await get(`${wasm.url}/iiif/3/sop-eph.j2k/full/max/0/default.png`);
      assert.equal(sop.status, 200);
    } finally {
      await wasm.close();
    }
  });

  it('converts an ICC-tagged master through libvips, which applies the profile written into the strip TIFF', async () => {
    const masters = path.join(dir, 'wasm-masters', 'box');
    await mkdir(masters, { recursive: true });
    await copyFile(path.join(dir, 'images', 'icc-romm-16.jp2'), path.join(masters, 'p-001.jp2'));
    const out = path.join(dir, 'wasm-out');
    const result = await run(process.execPath, [CLI, 'convert', path.join(dir, 'wasm-masters'), '--out', out, '--json', '--quality', '95'], {
      env: { ...process.env, VITRINE_NATIVE: 'off' },
    });
    const report = JSON.parse(result.stdout) as ConversionReport;
    assert.deepEqual(report.failed, []);
    const page = await decode(sharp(path.join(out, 'images', 'box', 'p-001.tif')), 3);
    assertClose(page, await opjReference(path.join(masters, 'p-001.jp2'), 3), 'icc-romm-16.jp2 converted with the WebAssembly decoder', 3, 0, 1);
  });
});

describe('JPEG 2000 decodes short of the area', () => {
  it('are errors, never a buffer partly unwritten', () => {
    const decoded = { data: Buffer.alloc(10 * 10 * 3, 7), width: 10, height: 10, channels: 3 as const };
    assert.throws(() => cut(decoded, 5, 5, 10, 10), /OpenJPEG returned 10×10 pixels, short of the 10×10 at \(5, 5\)/);
    assert.throws(() => cut({ ...decoded, data: decoded.data.subarray(0, 100) }, 0, 0, 5, 5), /short of/);
    assert.ok(cut(decoded, 2, 3, 8, 7).data.every((v) => v === 7));
  });
});
