import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { parseImageRequest } from '../../src/image-api/grammar.js';
import { resolveRequest } from '../../src/image-api/resolve.js';
import type { NativeBinding } from '../../src/imaging/native.js';
import { openSource, type OpenedSource } from '../../src/imaging/open-source.js';
import { findStoredTile, readStoredTile, type StoredTile } from '../../src/imaging/passthrough.js';
import { withRestartMarkers } from '../helpers/jpeg-restarts.js';
import { requireNative } from '../helpers/native.js';
import { REFERENCE_PNG, tempDir } from '../helpers/server.js';

// The addon's lossless crop of edge tiles: its fast way (DC differences rewritten, every other bit
// copied) must give, once decoded, exactly the pixels of libjpeg-turbo's tjTransform crop of the
// same stream, for every layout of stored tiles; what it does not take goes to tjTransform; and
// no stream, however broken, crashes it.

const SIZES: [number, number][] = [
  [1, 1], [7, 9], [8, 8], [15, 16], [16, 16], [17, 200], [112, 256], [256, 148], [255, 255], [256, 256],
  [100, 37], [31, 250], [200, 201], [129, 65], [248, 17],
];

/** The top-left width × height by the fast crop alone (written over a copy), or undefined where it declines. */
function fastCrop(addon: NativeBinding, jpeg: Buffer, width: number, height: number): Buffer | undefined {
  const copy = Buffer.from(jpeg);
  const size = addon.cropJpegInPlace!(copy, width, height);
  if (size === 0) {
    assert.ok(copy.equals(jpeg), 'a declined stream is left as it was');
    return undefined;
  }
  return copy.subarray(0, size);
}

async function pixels(jpeg: Buffer): Promise<{ data: Buffer; width: number; height: number; channels: number }> {
  const { data, info } = await sharp(jpeg).raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

/** Asserts the fast crop decodes to tjTransform's pixels; returns whether the fast crop took the stream. */
async function assertSameCrop(addon: NativeBinding, jpeg: Buffer, width: number, height: number, what: string): Promise<boolean> {
  const fast = fastCrop(addon, jpeg, width, height);
  const reference = addon.cropJpegTransform!(jpeg, width, height);
  const auto = addon.cropJpeg(jpeg, width, height);
  if (fast) assert.ok(auto.equals(fast), `${what}: cropJpeg gives the fast crop's bytes`);
  else assert.ok(auto.equals(reference), `${what}: cropJpeg gives tjTransform's bytes`);
  const [got, want] = await Promise.all([pixels(auto), pixels(reference)]);
  assert.deepEqual([got.width, got.height, got.channels], [width, height, want.channels], `${what}: size`);
  assert.ok(got.data.equals(want.data), `${what}: the pixels differ from tjTransform's crop`);
  return fast !== undefined;
}

/** A small deterministic generator (mulberry32), so that a failing mutation is found again. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Where a JPEG stream's entropy-coded data starts (after its SOS segment). */
function dataStart(jpeg: Buffer): number {
  for (let at = 2; ; ) {
    const length = jpeg.readUInt16BE(at + 2);
    if (jpeg[at + 1] === 0xda) return at + 2 + length;
    at += 2 + length;
  }
}

describe('lossless crop of stored JPEG tiles', () => {
  const addon = requireNative('turbojpeg');
  const streams = new Map<string, Buffer>();
  let dir: string;
  let cleanup: () => Promise<void>;
  let source: OpenedSource;
  let edgeTiles: { what: string; tile: StoredTile; stream: Buffer }[];

  before(async () => {
    // Detail in every block: the reference photograph, squeezed to one tile.
    const image = sharp(REFERENCE_PNG).removeAlpha().resize(256, 256, { fit: 'fill' });
    // Standard Huffman tables, as TIFF tiles have them (sharp optimises its own by default).
    const plain = { optimiseCoding: false };
    streams.set('4:2:0', await image.clone().jpeg({ quality: 80, chromaSubsampling: '4:2:0', ...plain }).toBuffer());
    streams.set('4:4:4', await image.clone().jpeg({ quality: 90, chromaSubsampling: '4:4:4', ...plain }).toBuffer());
    streams.set('greyscale', await image.clone().toColourspace('b-w').jpeg({ quality: 75, ...plain }).toBuffer());
    streams.set('4:2:0 at quality 100', await image.clone().jpeg({ quality: 100, chromaSubsampling: '4:2:0', ...plain }).toBuffer());
    // Noise at quality 100: blocks whose last coefficient is not zero end without end-of-block.
    const next = random(7);
    const noise = Buffer.from(Array.from({ length: 256 * 256 * 3 }, () => Math.floor(next() * 256)));
    const noisy = sharp(noise, { raw: { width: 256, height: 256, channels: 3 } });
    streams.set('noise 4:4:4 at quality 100', await noisy.clone().jpeg({ quality: 100, chromaSubsampling: '4:4:4', ...plain }).toBuffer());
    streams.set('noise 4:2:0 at quality 97', await noisy.clone().jpeg({ quality: 97, chromaSubsampling: '4:2:0', ...plain }).toBuffer());
    streams.set('4:2:0, restart every 5 MCUs', withRestartMarkers(streams.get('4:2:0')!, 5));
    streams.set('4:4:4, restart every MCU', withRestartMarkers(streams.get('4:4:4')!, 1));
    streams.set('greyscale, restart every 7 MCUs', withRestartMarkers(streams.get('greyscale')!, 7));

    // Edge tiles of a pyramidal TIFF as readStoredTile makes their streams (tables spliced in).
    ({ dir, cleanup } = await tempDir());
    await sharp(REFERENCE_PNG)
      .removeAlpha()
      .resize(1000, 700, { fit: 'fill' })
      .tiff({ tile: true, tileWidth: 256, tileHeight: 256, pyramid: true, compression: 'jpeg', quality: 80 })
      .toFile(path.join(dir, 'page.tif'));
    source = await openSource(path.join(dir, 'page.tif'));
    const edges = [
      { region: '768,0,232,256', size: '232,256', what: 'right edge' },
      { region: '0,512,256,188', size: '256,188', what: 'bottom edge' },
      { region: '768,512,232,188', size: '232,188', what: 'bottom-right corner' },
      { region: '512,512,488,188', size: '244,94', what: 'corner of the half-size level' },
    ];
    edgeTiles = [];
    for (const { region, size, what } of edges) {
      const tile = findStoredTile(source, resolveRequest(parseImageRequest(3, region, size, '0', 'default.jpg'), source.info, {}));
      assert.ok(tile?.crop, `${what}: a stored tile with a crop`);
      // The whole stored tile, padded to 256 × 256.
      const stream = (await readStoredTile(source, { level: tile.level, index: tile.index }, addon))!;
      edgeTiles.push({ what, tile, stream });
    }
  });
  after(async () => {
    await source?.close();
    await cleanup?.();
  });

  it('has its fast crop and tjTransform apart in the addon', () => {
    assert.equal(typeof addon.cropJpegInPlace, 'function');
    assert.equal(typeof addon.cropJpegTransform, 'function');
  });

  it('crops baseline streams (4:2:0, 4:4:4, greyscale, with restart markers) to the pixels of tjTransform, without it', async () => {
    for (const [name, jpeg] of streams) {
      for (const [width, height] of SIZES) {
        const fast = await assertSameCrop(addon, jpeg, width, height, `${name} ${width}×${height}`);
        assert.ok(fast, `${name} ${width}×${height}: the fast crop took the stream`);
      }
    }
  });

  it('crops the edge tiles of a pyramidal TIFF to their part inside the image, without tjTransform', async () => {
    for (const { what, tile, stream } of edgeTiles) {
      const { width, height } = tile.crop!;
      for (const [w, h] of [[width, height], ...SIZES] as [number, number][]) {
        assert.ok(await assertSameCrop(addon, stream, w, h, `${what} ${w}×${h}`), `${what} ${w}×${h}: the fast crop took the tile`);
      }
      // What the server sends: the fast crop, made over the tile's own buffer.
      const sent = await readStoredTile(source, tile, addon);
      assert.ok(sent?.equals(fastCrop(addon, stream, width, height)!), `${what}: readStoredTile sends the fast crop`);
    }
  });

  it('crops streams with optimised Huffman tables, by tjTransform where a new DC difference has no code', async () => {
    const image = sharp(REFERENCE_PNG).removeAlpha().resize(256, 256, { fit: 'fill' });
    for (const subsampling of ['4:2:0', '4:4:4'] as const) {
      const jpeg = await image.clone().jpeg({ quality: 85, chromaSubsampling: subsampling, optimiseCoding: true }).toBuffer();
      for (const [width, height] of SIZES) await assertSameCrop(addon, jpeg, width, height, `optimised ${subsampling} ${width}×${height}`);
    }
    // Block rows alternately ramping from black to white and back, flat in each block: the stream's
    // DC differences are small (a ramp step, 0 from row to row), but a crop one block wide puts black
    // after white, a difference whose category the optimised table lacks.
    const ramps = Buffer.alloc(256 * 256);
    for (let y = 0; y < 256; y++) {
      const [from, to] = (y >> 3) % 2 ? [255, 0] : [0, 255];
      for (let x = 0; x < 256; x++) ramps[y * 256 + x] = Math.round(from + ((to - from) * (x >> 3)) / 31);
    }
    const jpeg = await sharp(ramps, { raw: { width: 256, height: 256, channels: 1 } }).toColourspace('b-w').jpeg({ quality: 90, optimiseCoding: true }).toBuffer();
    assert.equal(await assertSameCrop(addon, jpeg, 8, 256, 'ramps 8×256'), false, 'the fast crop declines a difference without a code');
    assert.equal(await assertSameCrop(addon, jpeg, 256, 200, 'ramps 256×200'), true, 'whole rows keep their differences');
  });

  it('leaves progressive streams to tjTransform, with the same pixels', async () => {
    const progressive = await sharp(REFERENCE_PNG).removeAlpha().resize(256, 256, { fit: 'fill' }).jpeg({ quality: 80, progressive: true }).toBuffer();
    for (const [width, height] of [[112, 256], [256, 148], [17, 9]] as [number, number][]) {
      assert.equal(fastCrop(addon, progressive, width, height), undefined, 'the fast crop declines a progressive stream');
      assert.equal(await assertSameCrop(addon, progressive, width, height, `progressive ${width}×${height}`), false);
    }
  });

  it('leaves a crop reaching outside the image to tjTransform', () => {
    const jpeg = streams.get('4:2:0')!;
    const outcome = (crop: () => Buffer): Buffer | string => {
      try {
        return crop();
      } catch (error) {
        return (error as Error).message.replace(/^cropJpeg: /, '');
      }
    };
    for (const [width, height] of [[257, 10], [10, 257], [0, 10], [10, -1], [-5, 10]] as [number, number][]) {
      assert.equal(fastCrop(addon, jpeg, width, height), undefined, `${width}×${height}`);
      assert.deepEqual(outcome(() => addon.cropJpeg(jpeg, width, height)), outcome(() => addon.cropJpegTransform!(jpeg, width, height)), `${width}×${height}`);
    }
  });

  it('settles every broken stream (truncated, bytes changed in headers or data): a JPEG of the crop, or an Error', { timeout: 300_000 }, async (t) => {
    const next = random(20240611);
    const bases = [streams.get('4:2:0')!, streams.get('4:2:0, restart every 5 MCUs')!, edgeTiles[2]!.stream, streams.get('greyscale')!];
    let fast = 0;
    let thrown = 0;
    for (let i = 0; i < 3000; i++) {
      const base = bases[i % bases.length]!;
      const start = dataStart(base);
      let input: Buffer;
      const kind = i % 5;
      if (kind === 0) {
        input = base.subarray(0, Math.floor(next() * base.length));
      } else {
        input = Buffer.from(base);
        // Headers (kind 1), data (2, 3), or a few bytes anywhere (4).
        const flips = kind === 4 ? 1 + Math.floor(next() * 6) : 1;
        for (let f = 0; f < flips; f++) {
          const at = kind === 1 ? Math.floor(next() * start) : kind === 4 ? Math.floor(next() * input.length) : start + Math.floor(next() * (input.length - start));
          input[at] = kind === 3 ? input[at]! ^ (1 << Math.floor(next() * 8)) : Math.floor(next() * 256);
        }
      }
      const [width, height] = SIZES[Math.floor(next() * SIZES.length)]!;
      const what = `mutation ${i} (kind ${kind}, ${width}×${height})`;
      const cropped = fastCrop(addon, input, width, height);
      let auto: Buffer | undefined;
      try {
        auto = addon.cropJpeg(input, width, height);
      } catch (error) {
        assert.ok(error instanceof Error && error.message.startsWith('cropJpeg: '), `${what}: ${String(error)}`);
        thrown++;
      }
      if (!cropped) continue;
      fast++;
      assert.ok(auto?.equals(cropped), `${what}: cropJpeg gives the fast crop`);
      // The fast crop of a stream libjpeg reads without complaint decodes as tjTransform's crop does.
      const got = await pixels(cropped);
      assert.deepEqual([got.width, got.height], [width, height], what);
      const reference = await Promise.resolve()
        .then(() => pixels(addon.cropJpegTransform!(input, width, height)))
        .catch(() => undefined);
      if (reference) assert.ok(got.data.equals(reference.data), `${what}: the pixels differ from tjTransform's crop`);
    }
    t.diagnostic(`3000 broken streams: ${fast} cropped the fast way, ${thrown} refused by tjTransform`);
    // Both ways were met: the mutations do not all stop at the headers.
    assert.ok(fast > 300, `the fast crop took ${fast} broken streams`);
    assert.ok(thrown > 30, `${thrown} broken streams were refused`);
  });
});
