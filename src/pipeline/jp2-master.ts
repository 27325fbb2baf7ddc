import { read } from 'node:fs';
import { open } from 'node:fs/promises';
import { chooseJp2Decoder, type Jp2Pixels } from '../imaging/jp2/decoder.js';
import { jp2Info } from '../imaging/jp2/info.js';
import { nativeAddon } from '../imaging/native.js';
import type { ImageSource } from '../imaging/source.js';

/** Rows decoded per OpenJPEG call: its working memory follows the area, not the whole image. */
const STRIP_ROWS = 1024;

export class Jp2MasterError extends Error {
  override name = 'Jp2MasterError';
}

/**
 * A JPEG 2000 master's full-resolution pixels (8-bit, grey or RGB, with alpha when it has one), for
 * conversion: sharp's libvips has no JPEG 2000 loader, so OpenJPEG decodes it (the native addon,
 * strip by strip so only the output buffer grows with the image; else the WebAssembly build, whole).
 */
export async function decodeJp2Master(path: string, maxInputPixels: number): Promise<Jp2Pixels> {
  const file = await open(path, 'r');
  try {
    const { size, mtimeMs } = await file.stat();
    const info = await jp2Info(file, size).catch((error: Error) => {
      throw new Jp2MasterError(`damaged JPEG 2000: ${error.message}`);
    });
    const header = info.jp2!;
    if (info.width * info.height > maxInputPixels) {
      throw new Jp2MasterError(`too large: ${info.width}×${info.height} is over the maxInputPixels limit (${maxInputPixels})`);
    }
    const source: ImageSource = {
      path,
      version: `${size}-${mtimeMs}`,
      modified: new Date(mtimeMs),
      info,
      descriptor: file.fd,
      readBytes: (offset, length) =>
        new Promise((resolve, reject) => {
          const buffer = Buffer.allocUnsafe(length);
          read(file.fd, buffer, 0, length, offset, (error, bytesRead) => {
            if (error) reject(error);
            else if (bytesRead !== length) reject(new Error('short read (file truncated?)'));
            else resolve(buffer);
          });
        }),
    };
    const decoder = chooseJp2Decoder(nativeAddon().binding);
    const decode = async (top: number, bottom: number): Promise<Jp2Pixels> => {
      try {
        return await decoder.decode(source, header, 0, { left: 0, top, right: info.width, bottom });
      } catch (error) {
        throw new Jp2MasterError(`damaged JPEG 2000: ${(error as Error).message}`);
      }
    };
    if (!decoder.decodesArea) return await decode(0, info.height);
    // Strips aligned on the codestream's tiles, so each tile is decoded once.
    const rows = Math.max(1, Math.floor(STRIP_ROWS / header.tileHeight)) * header.tileHeight;
    // The tile grid starts at or above the image (tileY0 ≤ y0 < tileY0 + tileHeight): the first strip may be shorter.
    const firstBottom = Math.min(info.height, header.tileY0 + rows - header.y0);
    let out: Buffer | undefined;
    let channels: Jp2Pixels['channels'] = 3;
    for (let top = 0, bottom = firstBottom; top < info.height; top = bottom, bottom = Math.min(info.height, bottom + rows)) {
      const strip = await decode(top, bottom);
      if (!out) {
        channels = strip.channels;
        out = Buffer.allocUnsafe(info.width * info.height * channels);
      }
      if (strip.channels !== channels || strip.width !== info.width) throw new Jp2MasterError('damaged JPEG 2000: inconsistent tiles');
      strip.data.copy(out, top * info.width * channels);
    }
    return { data: out!, width: info.width, height: info.height, channels };
  } finally {
    await file.close();
  }
}
