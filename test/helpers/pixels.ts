import assert from 'node:assert/strict';
import sharp, { type Sharp } from 'sharp';

/** Decoded pixels of an image: always RGB(A) or grey as the encoder wrote it, row-major. */
export interface Pixels {
  readonly width: number;
  readonly height: number;
  readonly channels: number;
  readonly data: Buffer;
}

/** Decodes any encoded image (a response body) to raw pixels, with the channels forced if asked. */
export async function decode(input: Buffer | Sharp, channels?: 1 | 3 | 4): Promise<Pixels> {
  let image = Buffer.isBuffer(input) ? sharp(input) : input;
  if (channels === 1) image = image.toColourspace('b-w');
  if (channels === 3) image = image.toColourspace('srgb').removeAlpha();
  if (channels === 4) image = image.toColourspace('srgb').ensureAlpha();
  const { data, info } = await image.raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, channels: info.channels, data };
}

/** Fetches a URL, checks the status and returns the body. */
export async function fetchBytes(url: string, expectedStatus = 200): Promise<{ body: Buffer; response: Response }> {
  const response = await fetch(url);
  const body = Buffer.from(await response.arrayBuffer());
  assert.equal(response.status, expectedStatus, `${url} → ${response.status} ${body.toString('utf8', 0, 200)}`);
  return { body, response };
}

/** Mean absolute difference per sample (0..255) between two images of the same shape. */
export function meanAbsDiff(a: Pixels, b: Pixels): number {
  assert.equal(a.width, b.width, `widths differ: ${a.width} vs ${b.width}`);
  assert.equal(a.height, b.height, `heights differ: ${a.height} vs ${b.height}`);
  assert.equal(a.channels, b.channels, `channel counts differ: ${a.channels} vs ${b.channels}`);
  let sum = 0;
  for (let i = 0; i < a.data.length; i++) sum += Math.abs(a.data[i]! - b.data[i]!);
  return sum / a.data.length;
}

/**
 * Asserts two images have the same shape and close pixels: `tolerance` is the largest mean absolute
 * difference allowed per sample (0 for lossless paths; a few units for JPEG/WebP).
 */
export function assertSimilar(got: Pixels, want: Pixels, tolerance: number, what = 'image'): void {
  const diff = meanAbsDiff(got, want);
  assert.ok(diff <= tolerance, `${what}: mean absolute difference ${diff.toFixed(2)} exceeds ${tolerance}`);
}

/** The rectangle at (x, y) of size width × height out of `image`. */
export function crop(image: Pixels, x: number, y: number, width: number, height: number): Pixels {
  const { channels } = image;
  const data = Buffer.alloc(width * height * channels);
  for (let row = 0; row < height; row++) {
    image.data.copy(data, row * width * channels, ((y + row) * image.width + x) * channels, ((y + row) * image.width + x + width) * channels);
  }
  return { width, height, channels, data };
}
