import { createHash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import sharp, { type Metadata, type Sharp } from 'sharp';
import { sniffFormat } from '../imaging/open-source.js';
import { readIfds, TiffFormatError } from '../imaging/tiff/ifd.js';

export interface ConversionSettings {
  readonly format: 'ptiff';
  /** JPEG quality of the derivative's tiles. */
  readonly quality: number;
  readonly tileSize: number;
  /** Largest master accepted, in pixels (decompression bombs). */
  readonly maxInputPixels: number;
}

/** What decides whether an existing derivative is still right: everything that changes its pixels. */
export function settingsFingerprint(settings: ConversionSettings): string {
  return JSON.stringify({ v: 1, format: settings.format, quality: settings.quality, tileSize: settings.tileSize });
}

export class MasterError extends Error {
  override name = 'MasterError';
}

/** SHA-256 of a file, streamed (bounded memory whatever its size). */
export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Converts one page of a master into a tiled pyramidal TIFF (JPEG tiles), 8-bit sRGB or greyscale,
 * colour-managed from the embedded ICC profile, EXIF orientation applied, alpha flattened on white.
 * libvips streams the master (sequential access), so memory stays bounded whatever its size. The
 * derivative is written to a temporary name and renamed into place: never a half file under its name.
 */
export async function convertPage(
  master: string,
  directory: number,
  destination: string,
  temporaryDir: string,
  settings: ConversionSettings,
): Promise<{ width: number; height: number }> {
  const open = (): Sharp =>
    sharp(master, {
      page: directory,
      sequentialRead: true,
      autoOrient: true,
      failOn: 'error',
      limitInputPixels: settings.maxInputPixels,
    });
  if (/\.(jp2|j2k|jpf|jpx)$/i.test(master)) throw new MasterError('JPEG 2000 masters cannot be converted yet (sharp has no JPEG 2000 decoder; support is planned)');
  let meta: Metadata;
  try {
    meta = await open().metadata();
  } catch (error) {
    throw new MasterError(await diagnose(master, error));
  }
  if (!meta.width || !meta.height) throw new MasterError('no image dimensions in the file');
  const grey = meta.channels !== undefined && meta.channels <= 2 && meta.space !== 'cmyk';
  let image = open();
  if (meta.hasAlpha) image = image.flatten({ background: '#ffffff' });
  image = image.toColourspace(grey ? 'b-w' : 'srgb');

  await mkdir(path.dirname(destination), { recursive: true });
  // Same file system as the destination (both under the output folder), so the rename is atomic.
  const temporary = path.join(temporaryDir, `${process.pid}-${randomUUID()}.tif`);
  try {
    const info = await image
      .tiff({
        tile: true,
        tileWidth: settings.tileSize,
        tileHeight: settings.tileSize,
        pyramid: true,
        compression: 'jpeg',
        quality: settings.quality,
      })
      .toFile(temporary);
    await rename(temporary, destination);
    return { width: info.width, height: info.height };
  } catch (error) {
    await rm(temporary, { force: true });
    throw new MasterError(await diagnose(master, error));
  }
}

/** libvips messages carry the loader name and a trailing newline; keep one readable line. */
function libvipsLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n').map((l) => l.trim()).filter(Boolean).slice(0, 2).join(': ');
}

/**
 * Why a master cannot be read, in words an archivist can act on: libvips only says "unsupported
 * image format" for an empty file, a text file and a truncated TIFF alike, so look at the bytes.
 */
async function diagnose(master: string, error: unknown): Promise<string> {
  const line = libvipsLine(error);
  if (/pixel limit/i.test(line)) return `too large (over the maxInputPixels limit): ${line}`;
  let handle: FileHandle | undefined;
  try {
    handle = await open(master, 'r');
    const { size } = await handle.stat();
    if (size === 0) return 'empty file (0 bytes)';
    const head = Buffer.alloc(Math.min(size, 64));
    await handle.read(head, 0, head.length, 0);
    const format = sniffFormat(head);
    if (format === undefined) {
      const text = /^[\t\n\r\x20-\x7e\u00a0-\uffff]*$/u.test(head.toString('utf8').replace(/\uFFFD$/, ''));
      return `not an image: the content is ${text ? 'text' : 'not TIFF, JPEG, PNG or JPEG 2000'} (${size} bytes)`;
    }
    if (format === 'tiff') await readIfds(handle, size);
    return `damaged ${format.toUpperCase()}${line && !/unsupported image format/i.test(line) ? `: ${line}` : ' (truncated or corrupt)'}`;
  } catch (inner) {
    if (inner instanceof TiffFormatError) return /^truncated/.test(inner.message) ? inner.message : `damaged TIFF: ${inner.message}`;
    return line || 'cannot be read';
  } finally {
    await handle?.close();
  }
}
