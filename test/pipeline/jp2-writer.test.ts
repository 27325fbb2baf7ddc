import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { deflateSync } from 'node:zlib';
import sharp, { type Sharp } from 'sharp';
import { Jp2Writer, jp2QualityLayers, jp2Resolutions } from '../../src/imaging/jp2/encode.js';
import { pagePicture } from '../helpers/corpus.js';
import { opjDecode } from '../helpers/opj.js';
import { requireNative } from '../helpers/native.js';
import { decode, meanAbsDiff } from '../helpers/pixels.js';
import { tempDir } from '../helpers/server.js';

const settings = { tileSize: 1024, lossless: false, psnr: jp2QualityLayers(85), threads: 2 };

describe('jp2Resolutions', () => {
  it('gives at least 6 levels, enough for a smallest level ≤ 256 px, no more than the tile allows', () => {
    assert.equal(jp2Resolutions(400, 300, 1024), 6);
    assert.equal(jp2Resolutions(8192, 100, 1024), 6); // 8192 / 32 = 256
    assert.equal(jp2Resolutions(8193, 100, 1024), 7);
    assert.equal(jp2Resolutions(12000, 9000, 1024), 7);
    assert.equal(jp2Resolutions(40000, 30000, 1024), 9);
    assert.equal(jp2Resolutions(1_000_000, 10, 1024), 11, 'capped: 2^(levels − 1) ≤ the tile side');
  });
});

describe('Jp2Writer (the native encoder) on errors', () => {
  before(() => requireNative('openjpeg'));
  it('rejects a strip of the wrong size, then every call, and aborts cleanly', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const writer = Jp2Writer.open(path.join(dir, 'a.jp2'), { width: 100, height: 50, channels: 3 }, settings);
      await assert.rejects(writer.writeStrip(Buffer.alloc(10)), /a strip of 50 rows must hold 15000 bytes, not 10/);
      await assert.rejects(writer.finish(), /must hold 15000 bytes/, 'the first error, again');
      writer.abort();
    } finally {
      await cleanup();
    }
  });

  it('finish before every row is in: rejected, not a short file', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const writer = Jp2Writer.open(path.join(dir, 'b.jp2'), { width: 64, height: 2000, channels: 1 }, settings);
      await writer.writeStrip(Buffer.alloc(64 * 1024, 128));
      await assert.rejects(writer.finish(), /only 1024 of 2000 rows were written/);
      writer.abort();
    } finally {
      await cleanup();
    }
  });

  it('a write error (a full disk) rejects the strips in flight with the system reason', async () => {
    const writer = Jp2Writer.open('/dev/full', { width: 3000, height: 2048, channels: 3 }, settings);
    const strip = Buffer.alloc(3000 * 1024 * 3, 77);
    const results = await Promise.allSettled([writer.writeStrip(strip), writer.writeStrip(strip)]);
    for (const result of results) {
      assert.equal(result.status, 'rejected');
      assert.match(String((result as PromiseRejectedResult).reason), /cannot write the JP2 file: No space left on device/);
    }
    writer.abort();
  });

  it('an unwritable path fails at once with the reason', async () => {
    assert.throws(() => Jp2Writer.open('/nonexistent/dir/c.jp2', { width: 10, height: 10, channels: 3 }, settings), /cannot create \/nonexistent\/dir\/c\.jp2: No such file or directory/);
  });

  it('writes a JP2 signature, file type and header boxes before the codestream', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const file = path.join(dir, 'd.jp2');
      const writer = Jp2Writer.open(file, { width: 33, height: 17, channels: 3 }, settings);
      await writer.writeStrip(Buffer.alloc(33 * 17 * 3, 200));
      await writer.finish();
      const bytes = await readFile(file);
      assert.deepEqual([...bytes.subarray(0, 12)], [0, 0, 0, 12, 0x6a, 0x50, 0x20, 0x20, 0x0d, 0x0a, 0x87, 0x0a]);
      assert.equal(bytes.toString('latin1', 16, 24), 'ftypjp2 ');
      const jp2c = bytes.indexOf('jp2c', 0, 'latin1');
      assert.equal(bytes.readUInt32BE(jp2c - 4), bytes.length - (jp2c - 4), 'the codestream box runs to the end');
      assert.deepEqual([...bytes.subarray(jp2c + 4, jp2c + 6)], [0xff, 0x4f], 'SOC');
      assert.deepEqual([...bytes.subarray(-2)], [0xff, 0xd9], 'EOC');
    } finally {
      await cleanup();
    }
  });
});

describe('Jp2Writer.readPng: the image from an uncompressed PNG, read by the addon', () => {
  before(() => requireNative('openjpeg'));
  const lossless = { tileSize: 64, lossless: true, psnr: [], threads: 2 };

  /** Writes `png` to a file, encodes it losslessly through readPng, and returns the decoded pixels. */
  async function roundTrip(dir: string, png: Buffer, size: { width: number; height: number; channels: 1 | 3 }): Promise<Buffer> {
    const input = path.join(dir, 'in.png');
    const output = path.join(dir, 'out.jp2');
    await writeFile(input, png);
    const writer = Jp2Writer.open(output, size, lossless);
    try {
      await writer.readPng(input);
      await writer.finish();
    } catch (error) {
      writer.abort();
      throw error;
    }
    return (await opjDecode(output)).data;
  }

  it("every pixel, whatever the row filters (libvips' adaptive ones), grey and RGB, over several strips of tiles", async () => {
    const { dir, cleanup } = await tempDir();
    try {
      for (const channels of [1, 3] as const) {
        let picture: Sharp = pagePicture(5, 150, 211);
        if (channels === 1) picture = picture.toColourspace('b-w');
        const raw = await decode(picture.clone(), channels);
        const png = await picture.clone().png({ compressionLevel: 0, adaptiveFiltering: true }).toBuffer();
        const got = await roundTrip(dir, png, { width: 150, height: 211, channels });
        assert.ok(got.equals(raw.data), `${channels} channel(s)`);
      }
    } finally {
      await cleanup();
    }
  });

  it('every filter type (None, Sub, Up, Average, Paeth), the zlib stream split over two IDAT chunks', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const { data, info } = await pagePicture(7, 150, 97).raw().toBuffer({ resolveWithObject: true });
      const got = await roundTrip(dir, filteredPng(data, info.width, info.height, 3), { width: 150, height: 97, channels: 3 });
      assert.equal(meanAbsDiff({ width: 150, height: 97, channels: 3, data: got }, { width: 150, height: 97, channels: 3, data }), 0);
    } finally {
      await cleanup();
    }
  });

  it('refuses what it cannot copy out: compressed data, 16-bit samples, alpha, another size, a stream cut short', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const picture = pagePicture(1, 64, 48);
      const size: { width: number; height: number; channels: 1 | 3 } = { width: 64, height: 48, channels: 3 };
      const cases: [Promise<Buffer>, RegExp, typeof size][] = [
        [picture.clone().png({ compressionLevel: 6 }).toBuffer(), /compressed deflate block/, size],
        [picture.clone().toColourspace('rgb16').png({ compressionLevel: 0 }).toBuffer(), /16-bit/, size],
        [picture.clone().ensureAlpha().png({ compressionLevel: 0 }).toBuffer(), /colour type 6/, size],
        [picture.clone().png({ compressionLevel: 0 }).toBuffer(), /libvips wrote 64×48×3, expected 64×40×3/, { ...size, height: 40 }],
      ];
      for (const [png, reason, expected] of cases) await assert.rejects(roundTrip(dir, await png, expected), reason);
      const whole = await picture.clone().png({ compressionLevel: 0 }).toBuffer();
      await assert.rejects(roundTrip(dir, whole.subarray(0, whole.length - 500), size), (error: NodeJS.ErrnoException) => {
        assert.match(error.message, /the image stream ended early \(\d+ of 48 rows\)/);
        assert.equal(error.code, 'VITRINE_STREAM_ENDED');
        return true;
      });
    } finally {
      await cleanup();
    }
  });
});

/** A PNG whose row y uses filter y % 5, deflated at level 0 (stored blocks); CRCs left at zero (not checked). */
function filteredPng(raw: Buffer, width: number, height: number, bpp: number): Buffer {
  const stride = width * bpp;
  const lines = Buffer.alloc(height * (stride + 1));
  for (let y = 0; y < height; y++) {
    const filter = y % 5;
    const row = raw.subarray(y * stride, (y + 1) * stride);
    const up = y > 0 ? raw.subarray((y - 1) * stride, y * stride) : Buffer.alloc(stride);
    const out = lines.subarray(y * (stride + 1), (y + 1) * (stride + 1));
    out[0] = filter;
    for (let i = 0; i < stride; i++) {
      const a = i >= bpp ? row[i - bpp]! : 0;
      const b = up[i]!;
      const c = i >= bpp ? up[i - bpp]! : 0;
      const p = a + b - c;
      const paeth = Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c) ? a : Math.abs(p - b) <= Math.abs(p - c) ? b : c;
      const predictor = [0, a, b, (a + b) >> 1, paeth][filter]!;
      out[i + 1] = (row[i]! - predictor) & 0xff;
    }
  }
  const chunk = (type: string, data: Buffer): Buffer => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(data.length, 0);
    head.write(type, 4, 'latin1');
    return Buffer.concat([head, data, Buffer.alloc(4)]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = bpp === 1 ? 0 : 2;
  const z = deflateSync(lines, { level: 0 });
  const cut = Math.floor(z.length / 3);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', z.subarray(0, cut)),
    chunk('IDAT', z.subarray(cut)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}
