import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { open, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import type { NativeBinding } from '../../src/imaging/native.js';
import { requireNative } from '../helpers/native.js';

// The fuzz targets' inputs (native/fuzz/: parameter bytes, then a file), replayed through the addon
// as `vitrine serve` calls it. The seed corpus holds valid files: each must decode. Inputs the fuzzer
// once crashed on (test/fixtures/fuzz/<target>/, kept when fixed) must settle: pixels or an Error.

const CORPUS = path.resolve(import.meta.dirname, '../../native/fuzz/corpus');
const REGRESSIONS = path.resolve(import.meta.dirname, '../fixtures/fuzz');

type Outcome = { decoded: true } | { decoded: false; reason: string };

async function files(dir: string): Promise<{ name: string; bytes: Buffer }[]> {
  if (!existsSync(dir)) return [];
  const names = (await readdir(dir)).sort();
  return Promise.all(names.map(async (name) => ({ name, bytes: await readFile(path.join(dir, name)) })));
}

/** Runs `decode` with the input's file behind a descriptor, as the decoders read sources. */
async function withFile<T>(file: Buffer, decode: (fd: number) => Promise<T>): Promise<T> {
  const dir = await import('node:fs/promises').then((fs) => fs.mkdtemp(path.join((process.env.TMPDIR ?? '/tmp'), 'vitrine-fuzz-')));
  const name = path.join(dir, 'input');
  const { writeFile, rm } = await import('node:fs/promises');
  await writeFile(name, file);
  const handle = await open(name, 'r');
  try {
    return await decode(handle.fd);
  } finally {
    await handle.close();
    await rm(dir, { recursive: true, force: true });
  }
}

const settle = async (work: Promise<unknown>): Promise<Outcome> => {
  try {
    await work;
    return { decoded: true };
  } catch (error) {
    assert.ok(error instanceof Error, `a decoder rejected with ${String(error)}, not an Error`);
    return { decoded: false, reason: error.message };
  }
};

// Each replay reads its parameter bytes as the target of the same name does (native/fuzz/*_fuzz.cc).
const replays: Record<string, (addon: NativeBinding, input: Buffer) => Promise<Outcome | undefined>> = {
  async jp2_decode(addon, input) {
    const p = input.subarray(0, 6);
    const file = input.subarray(6);
    if (file.length < 12) return undefined;
    const jp2 = file[3] === 0x0c && file[4] === 0x6a && file[5] === 0x50;
    const [x0, y0] = [p[1]! * 8, p[2]! * 8];
    return withFile(file, (fd) =>
      settle(
        addon.decodeJp2!({
          fd,
          size: file.length,
          codec: jp2 ? 1 : 0,
          reduce: p[0]! % 6,
          x0,
          y0,
          x1: x0 + 1 + p[3]! * 8,
          y1: y0 + 1 + p[4]! * 8,
          threads: 1,
          fullResolution: (p[5]! & 1) !== 0,
        }),
      ),
    );
  },
  async tiff_rgba(addon, input) {
    const p = input.subarray(0, 4);
    const file = input.subarray(4);
    if (file.length < 8) return undefined;
    const little = file[0] === 0x49;
    const version = little ? file.readUInt16LE(2) : file.readUInt16BE(2);
    const offset = version === 42 ? (little ? file.readUInt32LE(4) : file.readUInt32BE(4)) : version === 43 && file.length >= 16 ? Number(little ? file.readBigUInt64LE(8) : file.readBigUInt64BE(8)) : 0;
    if (offset === 0) return undefined;
    return withFile(file, (fd) =>
      settle(addon.decodeTiffRgba!({ fd, size: file.length, offset, x0: p[0]!, y0: p[1]!, x1: p[0]! + 1 + p[2]!, y1: p[1]! + 1 + p[3]! })),
    );
  },
  async region_decode(addon, input) {
    const p = input.subarray(0, 8);
    const file = input.subarray(8);
    const meta = await sharp(file).metadata().catch(() => undefined);
    if (!meta?.width || !meta.height || meta.format !== 'jpeg') return undefined;
    const denominator = 1 << (p[0]! % 4);
    const colour = meta.channels === 1 ? 0 : p[1]! & 1 ? 2 : 1;
    const grey = colour !== 0 && (p[2]! & 1) === 1;
    const [sw, sh] = [Math.floor(meta.width / denominator), Math.floor(meta.height / denominator)];
    const srcX = Math.floor((p[3]! * (sw - 1)) / 255);
    const srcY = Math.floor((p[4]! * (sh - 1)) / 255);
    const width = 1 + Math.floor((p[5]! * (sw - srcX - 1)) / 255);
    const height = 1 + Math.floor((p[6]! * (sh - srcY - 1)) / 255);
    const split = p[7]! < 128 ? 0 : Math.floor((file.length * (p[7]! - 128)) / 128);
    const channels = colour === 0 || grey ? 1 : 3;
    const job = {
      tables: split > 0 ? file.subarray(0, split) : undefined,
      tiles: [file.subarray(split)],
      placements: Int32Array.from([srcX, srcY, width, height, 0, 0]),
      tileWidth: meta.width,
      tileHeight: meta.height,
      denominator,
      colour,
      grey,
      out: Buffer.alloc(width * height * channels),
      width,
      height,
    };
    return settle(Promise.resolve().then(() => addon.decodeJpegTiles!(job as Parameters<NonNullable<NativeBinding['decodeJpegTiles']>>[0])));
  },
  async jpeg_crop(addon, input) {
    const p = input.subarray(0, 2);
    const file = input.subarray(2);
    const meta = await sharp(file).metadata().catch(() => undefined);
    if (!meta?.width || !meta.height || meta.format !== 'jpeg') return undefined;
    const width = 1 + Math.floor((p[0]! * (meta.width - 1)) / 255);
    const height = 1 + Math.floor((p[1]! * (meta.height - 1)) / 255);
    return settle(
      Promise.resolve().then(async () => {
        // The fast crop, as readStoredTile makes it; a stream it declines goes to cropJpeg.
        const copy = Buffer.from(file);
        const size = addon.cropJpegInPlace!(copy, width, height);
        if (size === 0) throw new Error(`the fast crop declined: ${addon.cropJpeg(file, width, height).length} bytes by tjTransform`);
        await sharp(copy.subarray(0, size)).raw().toBuffer();
      }),
    );
  },
};

describe('fuzz corpus and regressions, replayed through the native addon', () => {
  const addon = requireNative('openjpeg');
  requireNative('libtiff');
  requireNative('jpeglib');

  for (const target of Object.keys(replays)) {
    it(`${target}: every seed decodes`, async () => {
      const seeds = await files(path.join(CORPUS, target));
      assert.ok(seeds.length >= 3, `native/fuzz/corpus/${target} holds ${seeds.length} seeds (node --import tsx native/fuzz/make-seeds.ts writes them)`);
      for (const { name, bytes } of seeds) {
        const outcome = await replays[target]!(addon, bytes);
        assert.ok(outcome, `${target}/${name}: the seed is not a file its target reads`);
        assert.deepEqual(outcome, { decoded: true }, `${target}/${name}`);
      }
    });

    it(`${target}: inputs that once crashed the decoder now settle`, async () => {
      for (const { name, bytes } of await files(path.join(REGRESSIONS, target))) {
        const outcome = await replays[target]!(addon, bytes);
        if (outcome) assert.ok('decoded' in outcome, `${target}/${name}`);
      }
    });
  }
});
