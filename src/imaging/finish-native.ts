import type { Dimensions, ImageRequest } from '../image-api/request.js';
import type { RenderOptions } from './executor.js';
import type { FinishJob, NativeBinding } from './native.js';
import { MAX_REGION_PIXELS } from './region-decode.js';
import type { RawPixels } from './upscale.js';

/** How often the addon finished a request in this process, and of those how many it upsized or reduced (the tests check that it really did). */
export const finishStats = { native: 0, upscaled: 0, reduced: 0 };

const CUBIC_FAMILY: ReadonlySet<RenderOptions['kernel']> = new Set(['cubic', 'mitchell', 'lanczos2', 'lanczos3']);

/**
 * Whether the addon can finish these pixels for `request` with the bytes libvips would give: grey
 * or RGB without alpha, grey already when the request wants grey (sharp greys before resizing), a
 * quarter turn or none, and a resize the addon reproduces. Upsizing both ways is libvips' bicubic
 * affine (cubic-family kernels); reducing both ways is its reducev then reduceh, reproduced up to
 * a factor of 4 per side (from there libvips box-shrinks first: left to it); one side growing
 * while the other shrinks is left to libvips too.
 */
export function finishesNatively(pixels: Dimensions & { channels: number }, request: ImageRequest, kernel: RenderOptions['kernel'], native: NativeBinding | undefined): boolean {
  if (!native?.finishPixels || kernel === 'nearest' || request.rotation % 90 !== 0) return false;
  const grey = request.quality === 'gray' || request.quality === 'bitonal';
  if (!(pixels.channels === 1 || (pixels.channels === 3 && !grey))) return false;
  const { width, height } = request.size;
  if (width * height > MAX_REGION_PIXELS) return false;
  if (width === pixels.width && height === pixels.height) return true;
  if (width >= pixels.width && height >= pixels.height) return CUBIC_FAMILY.has(kernel);
  if (width <= pixels.width && height <= pixels.height) return pixels.width / width < 4 && pixels.height / height < 4;
  return false;
}

/**
 * Finishes decoded pixels in the addon, off the JavaScript thread: resized, mirrored, turned,
 * thresholded for `bitonal`; a JPEG when the request asks for one, else the raw pixels (turned:
 * `width` and `height` are the output's) for sharp to encode. The pixels stay the caller's.
 */
export async function finishNatively(pixels: RawPixels, request: ImageRequest, options: RenderOptions, native: NativeBinding): Promise<{ jpeg: Buffer } | { raw: RawPixels }> {
  const jpeg = request.format === 'jpg';
  const job: FinishJob = {
    data: pixels.data,
    width: pixels.width,
    height: pixels.height,
    channels: pixels.channels as 1 | 3,
    outWidth: request.size.width,
    outHeight: request.size.height,
    kernel: options.kernel as FinishJob['kernel'],
    mirror: request.mirror,
    rotation: request.rotation as FinishJob['rotation'],
    threshold: request.quality === 'bitonal',
    quality: jpeg ? options.jpegQuality : 0,
  };
  const out = await native.finishPixels!(job);
  finishStats.native++;
  const { width: w, height: h } = request.size;
  if (w !== pixels.width || h !== pixels.height) {
    if (w >= pixels.width && h >= pixels.height) finishStats.upscaled++;
    else finishStats.reduced++;
  }
  if (jpeg) return { jpeg: out };
  const turned = request.rotation === 90 || request.rotation === 270;
  const { width, height } = request.size;
  return { raw: { data: out, width: turned ? height : width, height: turned ? width : height, channels: pixels.channels } };
}
