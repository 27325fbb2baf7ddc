import type { Sharp } from 'sharp';
import sharp from './sharp.js';
import { IiifError } from '../image-api/errors.js';
import type { Dimensions, Format, ImageRequest } from '../image-api/request.js';
import { finishesNatively, finishNatively } from './finish-native.js';
import { chooseJp2Decoder, type Jp2Decoder, type Jp2Rect } from './jp2/decoder.js';
import type { NativeBinding } from './native.js';
import { decodeRegion, planRegionDecode, regionDecodeStats, releaseRegion, type DecodedRegion, type LevelRect, type RegionPlan } from './region-decode.js';
import type { ImageSource, Level } from './source.js';
import { upscaleRegion, upscalesNatively, type RawPixels } from './upscale.js';
import { decodeWithLibtiff, LibtiffUnavailableError } from './tiff/libtiff.js';

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

/** The request's region in `level`'s pixels, rounded outwards, at least one pixel. */
export function levelRect(info: Dimensions, level: Level, region: ImageRequest['region']): LevelRect {
  const sx = info.width / level.width;
  const sy = info.height / level.height;
  const left = Math.min(level.width - 1, Math.floor(region.x / sx));
  const top = Math.min(level.height - 1, Math.floor(region.y / sy));
  const right = Math.min(level.width, Math.max(left + 1, Math.ceil((region.x + region.width) / sx)));
  const bottom = Math.min(level.height, Math.max(top + 1, Math.ceil((region.y + region.height) / sy)));
  return { left, top, right, bottom };
}

const WHITE = { r: 255, g: 255, b: 255, alpha: 1 };

/** Raw pixels as a sharp input; one or two channels stay greyscale (sharp would output them as sRGB). */
function rawImage(data: Buffer, width: number, height: number, channels: 1 | 2 | 3 | 4): Sharp {
  const image = sharp(data, { raw: { width, height, channels } });
  return channels <= 2 ? image.toColourspace('b-w') : image;
}
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

/** Whether a request's pixels end up grey whatever the source's colours. */
export const wantsGrey = (request: ImageRequest): boolean => request.quality === 'gray' || request.quality === 'bitonal';

/** Where a request's pixels come from: the level read, its rectangle, and the native region decode, if any. */
export interface RenderGeometry {
  readonly level: Level;
  readonly rect: LevelRect;
  /** The stored JPEG tiles libjpeg-turbo decodes (see planRegionDecode), when the addon and the level allow it. */
  readonly region?: RegionPlan | undefined;
}

/** Works out a request's geometry once: planRequest (admission control) and render share it. */
export function renderGeometry(info: ImageSource['info'], request: ImageRequest, native: NativeBinding | undefined): RenderGeometry {
  const level = chooseLevel(info.levels, request);
  const rect = levelRect(info, level, request.region);
  const region = !info.jp2 && native?.decodeJpegTiles ? planRegionDecode(level, rect, request.size, wantsGrey(request)) : undefined;
  return { level, rect, region };
}

/** The region decoded by the native addon as planned; undefined when the addon fails (libvips then reads it). */
async function decodeNatively(source: ImageSource, region: RegionPlan, native: NativeBinding): Promise<DecodedRegion | undefined> {
  try {
    const decoded = await decodeRegion(source, region, native);
    regionDecodeStats.native++;
    return decoded;
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
export async function render(
  source: ImageSource,
  request: ImageRequest,
  options: RenderOptions,
  native?: NativeBinding,
  jp2?: Jp2Decoder,
  geometry: RenderGeometry = renderGeometry(source.info, request, native),
): Promise<Buffer> {
  const { info } = source;
  const { level, rect, region } = geometry;
  if (!info.tiled && level.width * level.height > options.maxInputPixels) {
    throw new IiifError(
      403,
      `the image is ${level.width}×${level.height} and not tiled; decoding it whole exceeds maxInputPixels (${options.maxInputPixels})`,
    );
  }
  const { left, top, right, bottom } = rect;

  if (info.jp2) return renderJp2(source, level, { left, top, right, bottom }, request, options, jp2 ?? chooseJp2Decoder(native), native);
  if (level.libtiff) return renderLibtiff(source, level.libtiff.ifdOffset, { left, top, right, bottom }, request, options, native);
  const decoded = region && native ? await decodeNatively(source, region, native) : undefined;
  if (decoded) {
    try {
      return await finishRaw(decoded, request, options, native);
    } finally {
      // Every sharp pipeline that read the pixels has finished by now: the buffer can be reused.
      releaseRegion(decoded);
    }
  }
  // libvips reads a file: the source's own, or for an object its local copy (bounded cache).
  let image = sharp((await source.localFile()).path, {
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

/** A JPEG 2000 request: OpenJPEG decodes the level's rectangle (at the level's reduce factor), sharp does the rest. */
async function renderJp2(
  source: ImageSource,
  level: Level,
  rect: Jp2Rect,
  request: ImageRequest,
  options: RenderOptions,
  decoder: Jp2Decoder,
  native: NativeBinding | undefined,
): Promise<Buffer> {
  if (!decoder.decodesArea && level.width * level.height > options.maxInputPixels) {
    throw new IiifError(
      403,
      `decoding this request needs the ${level.width}×${level.height} resolution level whole (the WebAssembly JPEG 2000 decoder has no decode area), over maxInputPixels (${options.maxInputPixels}); build the native addon with OpenJPEG`,
    );
  }
  const reduce = 'reduce' in level.address ? level.address.reduce : 0;
  const width = rect.right - rect.left;
  const height = rect.bottom - rect.top;
  let pixels;
  try {
    pixels = await decoder.decode(source, source.info.jp2!, reduce, rect);
  } catch (error) {
    throw new IiifError(500, `cannot decode image: ${(error as Error).message}`);
  }
  if (pixels.width !== width || pixels.height !== height) {
    throw new IiifError(500, `cannot decode image: OpenJPEG returned ${pixels.width}×${pixels.height} for a ${width}×${height} area`);
  }
  return finishRaw({ data: pixels.data, width, height, channels: pixels.channels }, request, options, native);
}

/** A level sharp cannot decode (old-style JPEG): the system libtiff decodes the rectangle, sharp does the rest. */
async function renderLibtiff(
  source: ImageSource,
  ifdOffset: number,
  rect: { left: number; top: number; right: number; bottom: number },
  request: ImageRequest,
  options: RenderOptions,
  native: NativeBinding | undefined,
): Promise<Buffer> {
  const area = (rect.right - rect.left) * (rect.bottom - rect.top);
  if (area > options.maxInputPixels) {
    throw new IiifError(403, `decoding this request needs ${area} pixels of an old-style JPEG TIFF, over maxInputPixels (${options.maxInputPixels})`);
  }
  let pixels;
  try {
    pixels = await decodeWithLibtiff((await source.localFile()).descriptor, ifdOffset, rect, native);
  } catch (error) {
    if (error instanceof LibtiffUnavailableError) throw new IiifError(501, error.message);
    throw new IiifError(500, `cannot decode image: ${(error as Error).message}`);
  }
  return finishRaw({ data: pixels.data, width: pixels.width, height: pixels.height, channels: pixels.channels }, request, options, native);
}

/**
 * finish() for decoded raw pixels: an upsized output is upsized by the addon first when it can (the
 * same bytes as libvips' bicubic upsizing, several times faster; see upscale.ts), so that sharp only
 * mirrors, turns, greys and encodes.
 */
async function finishRaw(pixels: RawPixels, request: ImageRequest, options: RenderOptions, native: NativeBinding | undefined): Promise<Buffer> {
  if (native && finishesNatively(pixels, request, options.kernel, native)) {
    // The same pixels as the sharp pipeline below, without one: libvips' per-request overhead and
    // its slow one-band resize were most of a region's cost. A JPEG comes encoded; other formats
    // get the finished pixels encoded by sharp. Should the addon refuse the job, sharp does it all.
    const finished = await finishNatively(pixels, request, options, native).catch(() => undefined);
    if (finished && 'jpeg' in finished) return finished.jpeg;
    if (finished) {
      const { data, width, height, channels } = finished.raw;
      try {
        return await encode(rawImage(data, width, height, channels), request.format, options).toBuffer();
      } catch (error) {
        throw new IiifError(500, `cannot encode image: ${(error as Error).message}`);
      }
    }
  }
  // sharp greys before it resizes: colour pixels of a grey request are left to it, so the order stays.
  const colourToGrey = pixels.channels >= 3 && wantsGrey(request);
  const upscale = native && !colourToGrey && upscalesNatively(pixels, request.size, options.kernel, native);
  const ready = upscale ? await upscaleRegion(pixels, request.size, native) : pixels;
  try {
    return await finish(rawImage(ready.data, ready.width, ready.height, ready.channels), ready, request, options);
  } finally {
    // The upsized copy is this function's; the decoded pixels stay the caller's.
    if (ready !== pixels) releaseRegion(ready);
  }
}

/**
 * The rest of a request once its region is read (`image`, `input` pixels): scale, mirror, rotate,
 * colour, encode. One libvips pipeline, except for rotations by other angles than multiples of 90°.
 * Greying is asked before the rotation, and sharp applies it before resizing whatever the order of
 * the calls: the same pixels whether the region arrives in colour or already grey from the decoder.
 */
async function finish(image: Sharp, input: { width: number; height: number }, request: ImageRequest, options: RenderOptions): Promise<Buffer> {
  const { size } = request;
  if (size.width !== input.width || size.height !== input.height) {
    image = image.resize(size.width, size.height, { fit: 'fill', kernel: options.kernel });
  }
  if (request.mirror) image = image.flop();
  if (wantsGrey(request)) image = image.grayscale();
  if (request.rotation % 90 === 0) {
    // Called after resize(), sharp resizes first, then mirrors, then turns: the Image API's order.
    if (request.rotation !== 0) image = image.rotate(request.rotation);
  } else {
    // sharp would turn by any other angle before resizing; the Image API scales first: a second pass.
    const { data, info: raw } = await image.raw().toBuffer({ resolveWithObject: true });
    const opaque = request.format === 'jpg';
    image = rawImage(data, raw.width, raw.height, raw.channels as 1 | 2 | 3 | 4);
    if (!opaque) image = image.ensureAlpha();
    image = image.rotate(request.rotation, { background: opaque ? WHITE : TRANSPARENT });
  }
  if (request.quality === 'bitonal') image = image.threshold(128);
  try {
    return await encode(image, request.format, options).toBuffer();
  } catch (error) {
    throw new IiifError(500, `cannot decode image: ${(error as Error).message}`);
  }
}
