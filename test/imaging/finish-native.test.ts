import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp, { type Sharp } from 'sharp';
import { parseImageRequest } from '../../src/image-api/grammar.js';
import { resolveRequest } from '../../src/image-api/resolve.js';
import { finishesNatively } from '../../src/imaging/finish-native.js';
import type { FinishJob } from '../../src/imaging/native.js';
import { requireNative } from '../helpers/native.js';
import { REFERENCE_PNG } from '../helpers/server.js';

/**
 * The addon's finishing job (resize, mirror, turn, threshold, JPEG) against sharp doing the same to
 * the same raw pixels, the pipeline the executor runs without it: libvips' reduce reproduced byte
 * for byte for every kernel it covers, and the whole job's JPEG decoding to sharp's JPEG's pixels.
 */
describe('native finishing of decoded pixels', () => {
  const native = requireNative('jpeglib');

  /** The reference picture at `width`×`height`, every seventh sample scrambled so each pixel differs from its neighbours. */
  async function picture(width: number, height: number, channels: 1 | 3, scramble = true): Promise<Buffer> {
    let image = sharp(REFERENCE_PNG).removeAlpha().resize(width, height, { fit: 'fill' });
    if (channels === 1) image = image.toColourspace('b-w');
    const data = await image.raw().toBuffer();
    if (scramble) for (let i = 0; i < data.length; i += 7) data[i] = (data[i]! * 13) & 255;
    return data;
  }

  function raw(data: Buffer, width: number, height: number, channels: 1 | 3): Sharp {
    const image = sharp(data, { raw: { width, height, channels } });
    return channels === 1 ? image.toColourspace('b-w') : image;
  }

  const job = (data: Buffer, width: number, height: number, channels: 1 | 3, outWidth: number, outHeight: number, more: Partial<FinishJob> = {}): FinishJob => ({
    data,
    width,
    height,
    channels,
    outWidth,
    outHeight,
    kernel: 'lanczos3',
    mirror: false,
    rotation: 0,
    threshold: false,
    quality: 0,
    ...more,
  });

  // Both axes, one axis only, factors from just above 1 to just under 4 (libvips box-shrinks from
  // 4 on), odd sizes, a one-pixel output.
  const reductions: Array<[number, number, number, number]> = [
    [1000, 760, 690, 524],
    [1000, 760, 1000, 500],
    [1000, 760, 600, 760],
    [301, 199, 151, 100],
    [257, 255, 256, 128],
    [800, 600, 201, 151],
    [97, 61, 50, 31],
    [640, 480, 639, 479],
    [7, 5, 2, 2],
    [3, 3, 1, 1],
  ];
  for (const channels of [3, 1] as const) {
    for (const kernel of ['lanczos3', 'lanczos2', 'cubic', 'mitchell', 'linear'] as const) {
      it(`reduces ${channels === 3 ? 'RGB' : 'grey'} with ${kernel}: the bytes of libvips' reducev + reduceh`, async () => {
        for (const [width, height, outWidth, outHeight] of reductions) {
          const data = await picture(width, height, channels);
          const expected = await raw(data, width, height, channels).resize(outWidth, outHeight, { fit: 'fill', kernel }).raw().toBuffer();
          const got = await native.finishPixels!(job(data, width, height, channels, outWidth, outHeight, { kernel }));
          let differing = 0;
          for (let i = 0; i < expected.length; i++) if (got[i] !== expected[i]) differing++;
          assert.equal(got.length, expected.length);
          assert.equal(differing, 0, `${width}×${height} → ${outWidth}×${outHeight}: ${differing} of ${expected.length} samples differ`);
        }
      });
    }
  }

  it('mirrors, turns, thresholds and encodes as sharp does: the JPEG decodes to the same pixels', async () => {
    for (const channels of [3, 1] as const) {
      // Reduced, upsized, the same size.
      for (const [width, height, outWidth, outHeight] of [
        [600, 420, 333, 233],
        [120, 90, 500, 375],
        [200, 150, 200, 150],
      ] as const) {
        const data = await picture(width, height, channels, false);
        for (const rotation of [0, 90, 180, 270] as const) {
          for (const mirror of [false, true]) {
            for (const threshold of channels === 1 ? [false, true] : [false]) {
              let expected = raw(data, width, height, channels);
              if (outWidth !== width) expected = expected.resize(outWidth, outHeight, { fit: 'fill', kernel: 'lanczos3' });
              if (mirror) expected = expected.flop();
              if (rotation) expected = expected.rotate(rotation);
              if (threshold) expected = expected.threshold(128);
              const want = await sharp(await expected.jpeg({ quality: 80, optimiseCoding: false }).toBuffer()).raw().toBuffer({ resolveWithObject: true });
              const jpeg = await native.finishPixels!(job(data, width, height, channels, outWidth, outHeight, { rotation, mirror, threshold, quality: 80 }));
              const got = await sharp(jpeg).raw().toBuffer({ resolveWithObject: true });
              const what = `${channels} channel(s) ${width}×${height} → ${outWidth}×${outHeight}, ${mirror ? '!' : ''}${rotation}${threshold ? ', threshold' : ''}`;
              assert.deepEqual([got.info.width, got.info.height, got.info.channels], [want.info.width, want.info.height, want.info.channels], what);
              let worst = 0;
              for (let i = 0; i < want.data.length; i++) worst = Math.max(worst, Math.abs(got.data[i]! - want.data[i]!));
              // The same encoder arithmetic (libjpeg-turbo's, which sharp's mozjpeg keeps with its
              // default settings): the same pixels; one level of slack for another build.
              assert.ok(worst <= 1, `${what}: pixels differ by up to ${worst}`);
            }
          }
        }
      }
    }
  });

  it('returns the raw pixels turned when no JPEG is asked for', async () => {
    const data = await picture(90, 60, 3);
    const got = await native.finishPixels!(job(data, 90, 60, 3, 45, 30, { rotation: 90, mirror: true }));
    const want = await raw(data, 90, 60, 3).resize(45, 30, { fit: 'fill', kernel: 'lanczos3' }).flop().rotate(90).raw().toBuffer();
    assert.ok(got.equals(want));
  });

  it('is used only where it gives libvips bytes', () => {
    const request = (size: string, rotation = '0', quality = 'default') =>
      resolveRequest(parseImageRequest(3, 'full', size, rotation, `${quality}.jpg`), { width: 1000, height: 800 }, {});
    const rgb = { width: 1000, height: 800, channels: 3 };
    assert.ok(finishesNatively(rgb, request('500,400'), 'lanczos3', native), 'reduced');
    assert.ok(finishesNatively(rgb, request('^2000,1600', '90'), 'lanczos3', native), 'upsized, turned');
    assert.ok(finishesNatively({ ...rgb, channels: 1 }, request('300,', '!180', 'bitonal'), 'cubic', native), 'grey, mirrored, bitonal');
    assert.ok(!finishesNatively(rgb, request('250,200'), 'lanczos3', native), 'a factor of 4: libvips box-shrinks first');
    assert.ok(!finishesNatively(rgb, request('^2000,400'), 'lanczos3', native), 'one side grows, the other shrinks');
    assert.ok(!finishesNatively(rgb, request('^2000,1600'), 'linear', native), 'linear upsizing is not the bicubic affine');
    assert.ok(!finishesNatively(rgb, request('500,400'), 'nearest', native), 'nearest subsamples');
    assert.ok(!finishesNatively(rgb, request('500,400', '22.5'), 'lanczos3', native), 'a free rotation');
    assert.ok(!finishesNatively(rgb, request('500,400', '0', 'gray'), 'lanczos3', native), 'colour pixels for a grey request: sharp greys before resizing');
    assert.ok(!finishesNatively({ ...rgb, channels: 4 }, request('500,400'), 'lanczos3', native), 'alpha');
    assert.ok(!finishesNatively(rgb, request('500,400'), 'lanczos3', { ...native, finishPixels: undefined }), 'an addon without it');
  });

  it('rejects a job it cannot do before touching memory', () => {
    const data = Buffer.alloc(10 * 10 * 3);
    const base = job(data, 10, 10, 3, 5, 5);
    assert.throws(() => native.finishPixels!({ ...base, data: Buffer.alloc(299) }), /in is smaller/);
    assert.throws(() => native.finishPixels!({ ...base, outWidth: 2, outHeight: 2 }), /box-shrink/);
    assert.throws(() => native.finishPixels!({ ...base, outWidth: 20 }), /grows and the other shrinks/);
    assert.throws(() => native.finishPixels!({ ...base, rotation: 45 as 90 }), /rotation must be/);
    assert.throws(() => native.finishPixels!({ ...base, threshold: true }), /threshold needs grey/);
    assert.throws(() => native.finishPixels!({ ...base, kernel: 'nearest' as 'linear' }), /kernel must be/);
    assert.throws(() => native.finishPixels!({ ...base, channels: 4 as 3 }), /integers in range/);
  });
});
