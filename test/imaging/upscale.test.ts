import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { upscaleRegion, upscalesNatively, upscaleStats } from '../../src/imaging/upscale.js';
import { requireNative } from '../helpers/native.js';
import { REFERENCE_PNG } from '../helpers/server.js';

/**
 * The addon's bicubic upsizing against sharp's resize() of the same raw pixels (libvips' bicubic
 * affine, what every cubic-family kernel upsizes with): the same bytes, every one.
 */
describe('native bicubic upsizing', () => {
  const native = requireNative('turbojpeg');

  /** The reference picture at `width`×`height`, with every seventh sample scrambled so that each pixel differs from its neighbours. */
  async function picture(width: number, height: number, channels: 1 | 3): Promise<Buffer> {
    let image = sharp(REFERENCE_PNG).removeAlpha().resize(width, height, { fit: 'fill' });
    if (channels === 1) image = image.toColourspace('b-w');
    const data = await image.raw().toBuffer();
    for (let i = 0; i < data.length; i += 7) data[i] = (data[i]! * 13) & 255;
    return data;
  }

  async function libvips(data: Buffer, width: number, height: number, channels: 1 | 3, outWidth: number, outHeight: number, kernel: 'linear' | 'cubic' | 'mitchell' | 'lanczos2' | 'lanczos3' = 'lanczos3'): Promise<Buffer> {
    let image = sharp(data, { raw: { width, height, channels } });
    if (channels === 1) image = image.toColourspace('b-w');
    return image.resize(outWidth, outHeight, { fit: 'fill', kernel }).raw().toBuffer();
  }

  // Both axes, one axis only (libvips still filters the other, half a pixel displaced), small and
  // large factors, a factor just above 1, sizes down to one pixel (every tap clamped at the edges).
  const cases: Array<[number, number, number, number]> = [
    [300, 200, 900, 600],
    [301, 199, 451, 298],
    [97, 61, 98, 62],
    [120, 80, 120, 333],
    [120, 80, 500, 80],
    [37, 23, 950, 590],
    [3, 2, 17, 11],
    [1, 1, 5, 4],
  ];
  for (const channels of [3, 1] as const) {
    for (const [width, height, outWidth, outHeight] of cases) {
      it(`${width}×${height} → ${outWidth}×${outHeight}, ${channels} channel(s): the bytes of libvips`, async () => {
        const data = await picture(width, height, channels);
        const expected = await libvips(data, width, height, channels, outWidth, outHeight);
        const out = Buffer.alloc(outWidth * outHeight * channels);
        await native.upscaleBicubic!({ data, width, height, channels, out, outWidth, outHeight });
        let differing = 0;
        for (let i = 0; i < out.length; i++) if (out[i] !== expected[i]) differing++;
        assert.equal(differing, 0, `${differing} of ${out.length} samples differ from libvips'`);
      });
    }
  }

  it('is libvips for every cubic-family kernel (all upsize with the bicubic interpolator), not for linear', async () => {
    const data = await picture(90, 70, 3);
    const out = Buffer.alloc(400 * 311 * 3);
    await native.upscaleBicubic!({ data, width: 90, height: 70, channels: 3, out, outWidth: 400, outHeight: 311 });
    for (const kernel of ['cubic', 'mitchell', 'lanczos2', 'lanczos3'] as const) {
      assert.ok(out.equals(await libvips(data, 90, 70, 3, 400, 311, kernel)), kernel);
      assert.ok(upscalesNatively({ width: 90, height: 70, channels: 3 }, { width: 400, height: 311 }, kernel, native));
    }
    assert.ok(!out.equals(await libvips(data, 90, 70, 3, 400, 311, 'linear')), 'linear upsizing differs, so it must stay libvips');
    assert.ok(!upscalesNatively({ width: 90, height: 70, channels: 3 }, { width: 400, height: 311 }, 'linear', native));
  });

  it('is used only for outputs at least as large both ways, grey or RGB, within one buffer', () => {
    const from = { width: 100, height: 100, channels: 3 };
    assert.ok(upscalesNatively(from, { width: 101, height: 100 }, 'lanczos3', native));
    assert.ok(!upscalesNatively(from, { width: 100, height: 100 }, 'lanczos3', native), 'not resized at all');
    assert.ok(!upscalesNatively(from, { width: 300, height: 99 }, 'lanczos3', native), 'one side shrinks: libvips reduces it first');
    assert.ok(!upscalesNatively({ ...from, channels: 4 }, { width: 300, height: 300 }, 'lanczos3', native), 'alpha: sharp premultiplies');
    assert.ok(!upscalesNatively(from, { width: 4000, height: 4000 }, 'lanczos3', native), 'over MAX_REGION_PIXELS');
    assert.ok(!upscalesNatively(from, { width: 300, height: 300 }, 'lanczos3', undefined), 'no addon');
  });

  it('upscaleRegion returns the upsized pixels and counts itself', async () => {
    const data = await picture(64, 48, 1);
    const before = upscaleStats.native;
    const upsized = await upscaleRegion({ data, width: 64, height: 48, channels: 1 }, { width: 200, height: 150 }, native);
    assert.deepEqual([upsized.width, upsized.height, upsized.channels, upsized.data.length], [200, 150, 1, 200 * 150]);
    assert.ok(upsized.data.equals(await libvips(data, 64, 48, 1, 200, 150)));
    assert.equal(upscaleStats.native - before, 1);
  });

  it('rejects a job whose buffers or sizes do not match before touching memory', () => {
    const data = Buffer.alloc(10 * 10 * 3);
    const job = { data, width: 10, height: 10, channels: 3 as const, out: Buffer.alloc(20 * 20 * 3), outWidth: 20, outHeight: 20 };
    assert.throws(() => native.upscaleBicubic!({ ...job, out: Buffer.alloc(20 * 20 * 3 - 1) }), /out is smaller/);
    assert.throws(() => native.upscaleBicubic!({ ...job, data: Buffer.alloc(299) }), /in is smaller/);
    assert.throws(() => native.upscaleBicubic!({ ...job, outWidth: 9 }), /at least as large/);
    assert.throws(() => native.upscaleBicubic!({ ...job, out: data }), /different buffers/);
    assert.throws(() => native.upscaleBicubic!({ ...job, channels: 5 as 3 }), /integers in range/);
  });
});
