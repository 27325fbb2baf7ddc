import { createHash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import sharp, { type Metadata, type Sharp } from 'sharp';

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
    throw new MasterError(describe(error));
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
    throw new MasterError(describe(error));
  }
}

/** libvips messages carry the loader name and a trailing newline; keep one readable line. */
function describe(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const line = message.split('\n').map((l) => l.trim()).filter(Boolean).slice(0, 2).join(': ');
  if (/unsupported image format/i.test(line)) return 'not an image, or a format that cannot be read';
  if (/pixel limit/i.test(line)) return `too large (over the maxInputPixels limit): ${line}`;
  return line || 'cannot be read';
}
