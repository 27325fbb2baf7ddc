import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import type { ConversionReport } from '../../src/pipeline/run.js';
import { CLI, vitrine } from '../helpers/cli.js';
import { opjCompress, type RawImage } from '../helpers/jp2.js';
import { opjDecode } from '../helpers/opj.js';
import { requireNative } from '../helpers/native.js';
import { decode, meanAbsDiff, type Pixels } from '../helpers/pixels.js';
import { REFERENCE_PNG, tempDir } from '../helpers/server.js';

// Migration from a JPEG 2000 archive: JP2 and J2K masters go through the pipeline like TIFFs,
// decoded by OpenJPEG (libvips has none), with the native addon and with the WebAssembly fallback.
const run = promisify(execFile);

/** The reference image, 8-bit RGB without alpha, 1000×1000. */
async function referenceRgb(): Promise<Pixels> {
  return decode(sharp(REFERENCE_PNG).removeAlpha(), 3);
}

function raw(pixels: Pixels, channels: 1 | 3): RawImage {
  return { width: pixels.width, height: pixels.height, channels, bits: 8, samples: pixels.data };
}

describe('JPEG 2000 masters', () => {
  // Fails, not skips, without OpenJPEG: a build that lost it must not pass as a smaller green run.
  before(() => requireNative('openjpeg'));
  let dir: string;
  let masters: string;
  let cleanup: () => Promise<void>;
  let rgb: Pixels;
  let grey: Pixels;
  let grey16: Uint16Array;

  before(async () => {
    ({ dir, cleanup } = await tempDir());
    masters = path.join(dir, 'masters');
    await mkdir(path.join(masters, 'box'), { recursive: true });
    rgb = await referenceRgb();
    grey = await decode(sharp(REFERENCE_PNG).removeAlpha().toColourspace('b-w'), 1);
    // Lossless, so the derivatives can be compared with the source pixels exactly. Tiles of 256 and
    // the image not a multiple of them: strips cross tile rows, the last tile row is partial.
    await opjCompress(path.join(masters, 'box', 'p-001.jp2'), raw(rgb, 3), ['-t', '256,256', '-n', '4']);
    // A raw codestream, greyscale, 16 bits per sample: reduced to 8 bits (the high byte).
    grey16 = new Uint16Array(grey.data.length);
    grey.data.forEach((v, i) => (grey16[i] = v * 256 + 0x5a));
    await opjCompress(path.join(masters, 'box', 'p-002.j2k'), { width: grey.width, height: grey.height, channels: 1, bits: 16, samples: grey16 });
    // An untiled lossy JP2 (a single tile the size of the image, as many archives hold).
    await opjCompress(path.join(masters, 'box', 'p-003.jp2'), raw(rgb, 3), ['-r', '20']);
    // A PNG under a .jp2 name: read by what it is, not by its name.
    await copyFile(REFERENCE_PNG, path.join(masters, 'box', 'p-004.jp2'));
    // A JP2 cut short: its page fails with the reason, the others convert.
    await mkdir(path.join(masters, 'damaged'), { recursive: true });
    const whole = await readFile(path.join(masters, 'box', 'p-001.jp2'));
    await writeFile(path.join(masters, 'damaged', 'd-001.jp2'), whole.subarray(0, Math.floor(whole.length / 3)));
    await copyFile(path.join(masters, 'box', 'p-003.jp2'), path.join(masters, 'damaged', 'd-002.jp2'));
  });
  after(async () => cleanup());

  /** Runs `vitrine convert` (with `env` added) and returns its report. */
  async function convert(out: string, args: string[] = [], env: Record<string, string> = {}): Promise<ConversionReport> {
    const result = await run(process.execPath, [CLI, 'convert', masters, '--out', out, '--json', ...args], {
      env: { ...process.env, ...env },
      maxBuffer: 64 << 20,
    }).catch((e: { code: number; stdout: string; stderr: string }) => e);
    assert.ok('stdout' in result && result.stdout, JSON.stringify(result));
    return JSON.parse(result.stdout) as ConversionReport;
  }

  for (const decoder of ['native', 'wasm'] as const) {
    it(`become pyramidal TIFFs with the pixels of the source (${decoder} decoder); a damaged one fails alone`, async () => {
      const out = path.join(dir, `ptiff-${decoder}`);
      const report = await convert(out, ['--workers', '2'], decoder === 'wasm' ? { VITRINE_NATIVE: 'off' } : {});
      assert.equal(report.totals.converted, 5, JSON.stringify(report.failed));
      assert.deepEqual(report.failed.map((f) => f.source), ['damaged/d-001.jp2']);
      assert.match(report.failed[0]!.reason, /JPEG 2000/, report.failed[0]!.reason);
      const tiff = (name: string) => path.join(out, 'images', 'box', `${name}.tif`);
      const page1 = await decode(sharp(tiff('p-001')), 3);
      assert.ok(meanAbsDiff(page1, rgb) < 2.5, `p-001: ${meanAbsDiff(page1, rgb).toFixed(2)}`);
      assert.equal((await sharp(tiff('p-002')).metadata()).channels, 1, 'greyscale stays greyscale');
      const page2 = await decode(sharp(tiff('p-002')), 1);
      assert.ok(meanAbsDiff(page2, grey) < 2.5, `p-002: ${meanAbsDiff(page2, grey).toFixed(2)}`);
      const page3 = await decode(sharp(tiff('p-003')), 3);
      assert.ok(meanAbsDiff(page3, rgb) < 4, `p-003: ${meanAbsDiff(page3, rgb).toFixed(2)}`);
      const page4 = await decode(sharp(tiff('p-004')), 3);
      assert.ok(meanAbsDiff(page4, rgb) < 2.5, `p-004 (a PNG): ${meanAbsDiff(page4, rgb).toFixed(2)}`);
      const meta = await sharp(tiff('p-001')).metadata();
      assert.deepEqual([meta.width, meta.height, meta.pages], [1000, 1000, 3], 'a pyramid: 1000, 500, 250 px');
    });
  }

  it('re-encode losslessly to the serving JP2 layout with every pixel kept (16-bit grey: the high byte)', async () => {
    const out = path.join(dir, 'jp2');
    const report = await convert(out, ['--format', 'jp2', '--lossless']);
    assert.equal(report.totals.converted, 5, JSON.stringify(report.failed));
    const page1 = await opjDecode(path.join(out, 'images', 'box', 'p-001.jp2'));
    assert.equal(meanAbsDiff(page1, rgb), 0, 'p-001 exact');
    const page2 = await opjDecode(path.join(out, 'images', 'box', 'p-002.jp2'));
    assert.equal(page2.channels, 1);
    const high = Buffer.from(Array.from(grey16, (v) => v >> 8));
    assert.ok(page2.data.equals(high), 'p-002: the high byte of every sample');
  });

  it('a JP2 master over --max-input-pixels is refused with its size, before decoding', async () => {
    const result = await vitrine('convert', path.join(masters, 'box'), '--out', path.join(dir, 'small'), '--json', '--max-input-pixels', '500000');
    const report = JSON.parse(result.stdout) as ConversionReport;
    const jp2 = report.failed.find((f) => f.source === 'p-001.jp2');
    assert.ok(jp2, JSON.stringify(report.failed));
    assert.match(jp2.reason, /too large: 1000×1000 is over the maxInputPixels limit \(500000\)/);
  });
});
