import { fstat } from 'node:fs';
import { promisify } from 'node:util';
import type { NativeBinding } from '../native.js';
import { Compression, type Ifd } from './ifd.js';

/**
 * TIFF directories whose pixels sharp cannot decode and the system libtiff can, through the native
 * addon (native/src/tiff_rgba.cc: libtiff's RGBA interface). Today one compression: old-style JPEG
 * (6, TIFF 6.0's first JPEG scheme, in strips or tiles, usually YCbCr subsampled), which sharp's
 * bundled libtiff is built without: it refuses strips ("not configured") and, worse, returns tiles
 * blank white with no error.
 */
export function needsLibtiff(ifd: Pick<Ifd, 'compression'>): boolean {
  return ifd.compression === Compression.OldJPEG;
}

/** What was asked and why it cannot be decoded here: the addon lacks libtiff. */
export class LibtiffUnavailableError extends Error {
  override name = 'LibtiffUnavailableError';
}

export class LibtiffDecodeError extends Error {
  override name = 'LibtiffDecodeError';
}

export interface LibtiffPixels {
  readonly data: Buffer;
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 3 | 4;
}

const UNAVAILABLE =
  'old-style JPEG TIFF (compression 6): sharp cannot decode it, and the native addon was built without libtiff ' +
  '(install libtiff-dev, then npm rebuild)';

/** Why libtiff decoding is unavailable with this addon, or undefined when it is there. */
export function libtiffUnavailable(native: NativeBinding | undefined): string | undefined {
  return native?.decodeTiffRgba ? undefined : UNAVAILABLE;
}

const statOf = promisify(fstat);

/**
 * Decodes the rectangle [left, right) × [top, bottom) of the directory at `ifdOffset` with libtiff,
 * reading through `descriptor`. Every pixel asked for comes back or the call fails: libtiff's
 * errors (and libjpeg's damaged-data warnings) reject, and so does any answer of another size.
 */
export async function decodeWithLibtiff(
  descriptor: number,
  ifdOffset: number,
  rect: { readonly left: number; readonly top: number; readonly right: number; readonly bottom: number },
  native: NativeBinding | undefined,
): Promise<LibtiffPixels> {
  if (!native?.decodeTiffRgba) throw new LibtiffUnavailableError(UNAVAILABLE);
  const { size } = await statOf(descriptor);
  let pixels;
  try {
    pixels = await native.decodeTiffRgba({ fd: descriptor, size, offset: ifdOffset, x0: rect.left, y0: rect.top, x1: rect.right, y1: rect.bottom });
  } catch (error) {
    throw new LibtiffDecodeError(`libtiff: ${(error as Error).message}`);
  }
  const width = rect.right - rect.left;
  const height = rect.bottom - rect.top;
  const { channels } = pixels;
  if (pixels.width !== width || pixels.height !== height || (channels !== 1 && channels !== 3 && channels !== 4) || pixels.data.length !== width * height * channels) {
    throw new LibtiffDecodeError(`libtiff returned ${pixels.width}×${pixels.height}×${channels} for a ${width}×${height} rectangle`);
  }
  return { data: pixels.data, width, height, channels };
}
