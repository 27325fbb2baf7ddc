import type { Dimensions } from '../image-api/request.js';
import type { RenderOptions } from './executor.js';
import type { NativeBinding } from './native.js';
import { MAX_REGION_PIXELS, releaseRegion, takeBuffer } from './region-decode.js';

/** Raw interleaved pixels, what sharp takes as `raw` input. */
export interface RawPixels {
  readonly data: Buffer;
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 2 | 3 | 4;
}

/** The kernels for which libvips upsizes with its bicubic interpolator (vips_resize: cubic and above). */
const BICUBIC_KERNELS: ReadonlySet<RenderOptions['kernel']> = new Set(['cubic', 'mitchell', 'lanczos2', 'lanczos3']);

/** How often the native upsizing ran in this process (the tests check that it really did). */
export const upscaleStats = { native: 0 };

/**
 * Whether the addon upsizes `from` to `to` instead of libvips: larger one way at least and smaller
 * neither (a request that shrinks one side is libvips' reduce, then its affine), grey or RGB without
 * alpha (sharp premultiplies alpha in float first), a kernel libvips upsizes bicubically, and an
 * output that fits one buffer.
 */
export function upscalesNatively(from: Dimensions & { channels: number }, to: Dimensions, kernel: RenderOptions['kernel'], native: NativeBinding | undefined): boolean {
  return (
    native?.upscaleBicubic !== undefined &&
    BICUBIC_KERNELS.has(kernel) &&
    (from.channels === 1 || from.channels === 3) &&
    to.width >= from.width &&
    to.height >= from.height &&
    (to.width > from.width || to.height > from.height) &&
    to.width * to.height <= MAX_REGION_PIXELS
  );
}

/**
 * Upsizes raw pixels to `size` with the addon, off the JavaScript thread: the same bytes as sharp's
 * resize() (libvips' bicubic affine), which costs several times more (a 4×4 window per output pixel
 * where the addon filters rows once, then columns). The result is a pooled buffer: give it back with
 * releaseRegion once its pipeline is done; the input stays the caller's.
 */
export async function upscaleRegion(pixels: RawPixels, size: Dimensions, native: NativeBinding): Promise<RawPixels> {
  const out = takeBuffer(size.width * size.height * pixels.channels);
  const upscaled = { data: out, width: size.width, height: size.height, channels: pixels.channels };
  try {
    await native.upscaleBicubic!({ ...pixels, out, outWidth: size.width, outHeight: size.height });
  } catch (error) {
    releaseRegion(upscaled);
    throw error;
  }
  upscaleStats.native++;
  return upscaled;
}
