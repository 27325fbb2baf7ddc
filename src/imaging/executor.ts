import sharp, { type Sharp } from 'sharp';
import { IiifError } from '../image-api/errors.js';
import type { Format, ImageRequest } from '../image-api/request.js';
import type { NativeBinding } from './native.js';
import { decodeRegion, planRegionDecode, regionDecodeStats, releaseRegion, type DecodedRegion } from './region-decode.js';
import type { ImageSource, Level } from './source.js';

export interface RenderOptions {
  readonly jpegQuality: number;
  /** Largest image (in pixels) that may be decoded whole; protects against decompression bombs. */
  readonly maxInputPixels: number;
  readonly kernel: 'nearest' | 'linear' | 'cubic' | 'mitchell' | 'lanczos2' | 'lanczos3';
}

/**
 * The level to read a request from: the smallest one that still has at least as many pixels as the
 * output needs, so a reduced request never decodes full resolution.
 */
export function chooseLevel(levels: readonly Level[], request: ImageRequest): Level {
  const needed = Math.min(request.region.width / request.size.width, request.region.height / request.size.height);
  let chosen = levels[0]!;
  for (const level of levels) {
    if (level.scale <= needed * (1 + 1e-9)) chosen = level;
  }
  return chosen;
}

const WHITE = { r: 255, g: 255, b: 255, alpha: 1 };
const TRANSPARENT = { r: 0, g: 0, b: 0, alpha: 0 };

function encode(image: Sharp, format: Format, options: RenderOptions): Sharp {
  switch (format) {
    case 'jpg':
      // Standard Huffman tables: optimised ones save ~5 % of bytes but cost ~15 % more CPU per image.
      return image.flatten({ background: WHITE }).jpeg({ quality: options.jpegQuality, optimiseCoding: false });
    case 'png':
      return image.png({ compressionLevel: 6 });
    case 'webp':
      return image.webp({ quality: options.jpegQuality });
    case 'tif':
      return image.tiff({ compression: 'deflate' });
    case 'gif':
      return image.gif();
  }
}

/**
 * The region decoded by the native addon from the level's stored JPEG tiles, when the addon offers
 * it and the level qualifies (see planRegionDecode); undefined otherwise, or when the addon fails.
 */
async function decodeNatively(
  source: ImageSource,
  level: Level,
  rect: { left: number; top: number; right: number; bottom: number },
  request: ImageRequest,
  native: NativeBinding | undefined,
): Promise<DecodedRegion | undefined> {
  if (!native?.decodeJpegTiles) return undefined;
  const plan = planRegionDecode(level, rect, request.size);
  if (!plan) return undefined;
  try {
    const region = await decodeRegion(source, plan, native);
    regionDecodeStats.native++;
    return region;
  } catch {
    regionDecodeStats.failed++;
    return undefined;
  }
}

/**
 * Runs a resolved request on a source: read the right level, crop, scale, mirror, rotate, colour,
 * encode. With the native addon, a region of a JPEG-tiled level is decoded by libjpeg-turbo from
 * the stored tiles it covers (off the JavaScript thread) and handed to sharp as raw pixels; anything
 * else is read by libvips.
 */
export async function render(source: ImageSource, request: ImageRequest, options: RenderOptions, native?: NativeBinding): Promise<Buffer> {
  const { info } = source;
  const level = chooseLevel(info.levels, request);
  if (!info.tiled && level.width * level.height > options.maxInputPixels) {
    throw new IiifError(
      403,
      `the image is ${level.width}×${level.height} and not tiled; decoding it whole exceeds maxInputPixels (${options.maxInputPixels})`,
    );
  }
  const { region } = request;
  const sx = info.width / level.width;
  const sy = info.height / level.height;
  const left = Math.min(level.width - 1, Math.floor(region.x / sx));
  const top = Math.min(level.height - 1, Math.floor(region.y / sy));
  const right = Math.min(level.width, Math.max(left + 1, Math.ceil((region.x + region.width) / sx)));
  const bottom = Math.min(level.height, Math.max(top + 1, Math.ceil((region.y + region.height) / sy)));

  const decoded = await decodeNatively(source, level, { left, top, right, bottom }, request, native);
  if (decoded) {
    try {
      const image = sharp(decoded.data, { raw: { width: decoded.width, height: decoded.height, channels: decoded.channels } });
      return await finish(image, decoded, request, options);
    } finally {
      // Every sharp pipeline that read the pixels has finished by now: the buffer can be reused.
      releaseRegion(decoded);
    }
  }
  let image = sharp(source.path, {
    ...level.address,
    autoOrient: info.autoOrient,
    limitInputPixels: info.tiled ? false : options.maxInputPixels,
    sequentialRead: !info.tiled,
    failOn: 'error',
  });
  if (left !== 0 || top !== 0 || right !== level.width || bottom !== level.height) {
    image = image.extract({ left, top, width: right - left, height: bottom - top });
  }
  return finish(image, { width: right - left, height: bottom - top }, request, options);
}

/** The rest of a request once its region is read (`image`, `input` pixels): scale, mirror, rotate, colour, encode. */
async function finish(image: Sharp, input: { width: number; height: number }, request: ImageRequest, options: RenderOptions): Promise<Buffer> {
  const { size } = request;
  if (size.width !== input.width || size.height !== input.height) {
    image = image.resize(size.width, size.height, { fit: 'fill', kernel: options.kernel });
  }
  if (request.mirror) image = image.flop();
  if (request.rotation !== 0) {
    // sharp would rotate before resizing; the Image API scales first, so rotate in a second pass.
    const { data, info: raw } = await image.raw().toBuffer({ resolveWithObject: true });
    const opaque = request.format === 'jpg';
    image = sharp(data, { raw: { width: raw.width, height: raw.height, channels: raw.channels } });
    if (!opaque && request.rotation % 90 !== 0) image = image.ensureAlpha();
    image = image.rotate(request.rotation, { background: opaque ? WHITE : TRANSPARENT });
  }
  if (request.quality === 'gray') image = image.grayscale();
  if (request.quality === 'bitonal') image = image.threshold(128);
  try {
    return await encode(image, request.format, options).toBuffer();
  } catch (error) {
    throw new IiifError(500, `cannot decode image: ${(error as Error).message}`);
  }
}
