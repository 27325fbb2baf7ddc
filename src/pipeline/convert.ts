import { createHash, randomUUID } from 'node:crypto';
import { mkdir, open, rm, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Metadata, Sharp } from 'sharp';
import sharp from '../imaging/sharp.js';
import { jp2QualityLayers } from '../imaging/jp2/encode.js';
import { sniffFormat } from '../imaging/open-source.js';
import { nativeAddon } from '../imaging/native.js';
import { readIfds, TiffFormatError } from '../imaging/tiff/ifd.js';
import { handleReader } from '../storage/file-bytes.js';
import { renameDurably } from './durable.js';
import { LibtiffUnavailableError } from '../imaging/tiff/libtiff.js';
import { decodeLibtiffPage, libtiffPage, LibtiffPageError } from '../imaging/tiff/libtiff-page.js';
import { decodeJp2MasterToTiff, Jp2MasterError } from './jp2-master.js';
import { Jp2SourceError, writeJp2 } from './jp2.js';

export const DERIVATIVE_FORMATS = ['ptiff', 'jp2'] as const;
export type DerivativeFormat = (typeof DERIVATIVE_FORMATS)[number];

export interface ConversionSettings {
  /** ptiff: tiled pyramidal TIFF, JPEG tiles; jp2: JPEG 2000 (see src/imaging/jp2/encode.ts). */
  readonly format: DerivativeFormat;
  /** ptiff: JPEG quality of the tiles; jp2 (lossy): the PSNR of its quality layers (jp2QualityLayers). */
  readonly quality: number;
  readonly tileSize: number;
  /** jp2 only: reversible wavelet, every bit kept (quality does not apply). */
  readonly lossless?: boolean | undefined;
  /** Largest master accepted, in pixels (decompression bombs). */
  readonly maxInputPixels: number;
}

/** How the derivative's file name ends. */
export function derivativeExtension(format: DerivativeFormat): string {
  return format === 'jp2' ? '.jp2' : '.tif';
}

/** What decides whether an existing derivative is still right: everything that changes its pixels. */
export function settingsFingerprint(settings: ConversionSettings): string {
  if (settings.format === 'jp2') {
    // recipe: the codestream layout (tiles, levels, precincts, progression); bump it when it changes.
    const quality = settings.lossless ? { lossless: true } : { quality: settings.quality };
    return JSON.stringify({ v: 1, format: 'jp2', recipe: 1, tileSize: settings.tileSize, ...quality });
  }
  return JSON.stringify({ v: 1, format: settings.format, quality: settings.quality, tileSize: settings.tileSize });
}

export class MasterError extends Error {
  override name = 'MasterError';
}

/** How much of a file sha256File reads at a time. */
const HASH_CHUNK = 4 << 20;

/**
 * Read buffers of finished hashes, for the next: a fresh 4 MB buffer per master is new memory
 * the kernel must map (1,000 page faults), and stays until the garbage collector frees it. As many
 * are kept as hashes ran at once (the pages in flight).
 */
const spareHashBuffers: Buffer[] = [];

/**
 * SHA-256 of a file, read in chunks into one reused buffer (bounded memory whatever its size). Not
 * a read stream: its fresh buffer per chunk and its machinery cost a 27 MP master ~10 ms of CPU
 * (of ~50), which a batch pays alongside libvips on the same cores.
 */
export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  const handle = await open(file, 'r');
  const buffer = spareHashBuffers.pop() ?? Buffer.allocUnsafe(HASH_CHUNK);
  try {
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, HASH_CHUNK, null);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
    }
  } finally {
    spareHashBuffers.push(buffer);
    await handle.close();
  }
  return hash.digest('hex');
}

/** Whether an error is the operating system refusing or failing a file operation (EACCES, EIO, …). */
export function isSystemError(error: unknown): error is NodeJS.ErrnoException {
  return error instanceof Error && typeof (error as NodeJS.ErrnoException).code === 'string' && /^E[A-Z]+$/.test((error as NodeJS.ErrnoException).code!);
}

/** Why the system could not read a master, in one line: 'cannot be read: EIO (i/o error, read)'. */
export function unreadable(error: NodeJS.ErrnoException): MasterError {
  const what = error.message.replace(/^E[A-Z]+: /, '').replace(/, \w+ '.*'$/, '').replace(/ '.*'$/, '');
  return new MasterError(`cannot be read: ${error.code} (${what})`);
}

/**
 * SHA-256 of a master: a master the system cannot read (permissions, a failing disk) is that
 * page's failure (MasterError), not the batch's.
 */
export async function sha256Master(file: string): Promise<string> {
  try {
    return await sha256File(file);
  } catch (error) {
    throw isSystemError(error) ? unreadable(error) : error;
  }
}

/**
 * Converts one page of a master into a tiled pyramidal TIFF (JPEG tiles) or a JP2, 8-bit sRGB or
 * greyscale, colour-managed from the embedded ICC profile, EXIF orientation applied, alpha
 * flattened on white. libvips streams the master (sequential access), so memory stays bounded
 * whatever its size. The derivative is written to a temporary name and renamed into place: never a
 * half file under its name. `threads`: the JPEG 2000 encoder's threads for this page.
 */
export async function convertPage(
  master: string,
  directory: number,
  destination: string,
  temporaryDir: string,
  settings: ConversionSettings,
  { threads = 1 }: { threads?: number } = {},
): Promise<{ width: number; height: number }> {
  let open = (): Sharp =>
    sharp(master, {
      page: directory,
      sequentialRead: true,
      autoOrient: true,
      failOn: 'error',
      limitInputPixels: settings.maxInputPixels,
    });
  // libvips (as sharp bundles it) has no JPEG 2000 loader: OpenJPEG decodes the master into an
  // uncompressed TIFF next to the derivative's temporary file, which the pipeline then streams like
  // any TIFF master (the ICC profile travels with it); removed once the page is done.
  // Old-style JPEG TIFF pages, which sharp's libtiff cannot decode, likewise go through the
  // system libtiff (native addon) into an uncompressed TIFF.
  let decoded: string | undefined;
  const jpeg2000 = await isJpeg2000(master);
  const oldJpeg = jpeg2000 ? undefined : await libtiffPage(master, directory).catch(() => undefined);
  if (jpeg2000 || oldJpeg) {
    decoded = path.join(temporaryDir, `${process.pid}-${randomUUID()}.decoded.tif`);
    await mkdir(temporaryDir, { recursive: true });
    try {
      if (oldJpeg) await decodeLibtiffPage(master, oldJpeg, decoded, settings.maxInputPixels, nativeAddon().binding);
      else await decodeJp2MasterToTiff(master, decoded, settings.maxInputPixels);
    } catch (error) {
      await rm(decoded, { force: true });
      if (error instanceof Jp2MasterError || error instanceof LibtiffPageError || error instanceof LibtiffUnavailableError) throw new MasterError(error.message);
      throw new MasterError(`${oldJpeg ? 'old-style JPEG TIFF decoding' : 'JPEG 2000 decoding'} failed: ${(error as Error).message}`);
    }
    const file = decoded;
    open = () => sharp(file, { sequentialRead: true, failOn: 'error', limitInputPixels: settings.maxInputPixels });
  }
  try {
    return await encodePage(master, open, destination, temporaryDir, settings, threads);
  } finally {
    if (decoded) await rm(decoded, { force: true });
  }
}

/** Encodes one page, opened by `open`, into the derivative (see convertPage). */
async function encodePage(
  master: string,
  open: () => Sharp,
  destination: string,
  temporaryDir: string,
  settings: ConversionSettings,
  threads: number,
): Promise<{ width: number; height: number }> {
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
  const temporary = path.join(temporaryDir, `${process.pid}-${randomUUID()}${derivativeExtension(settings.format)}`);
  if (settings.format === 'jp2') {
    const jp2 = { tileSize: settings.tileSize, lossless: settings.lossless === true, psnr: jp2QualityLayers(settings.quality), threads };
    try {
      // The size libvips will write: the page's, turned upright by its EXIF orientation.
      const size = { width: meta.autoOrient?.width ?? meta.width, height: meta.autoOrient?.height ?? meta.height, channels: grey ? 1 : 3 } as const;
      await writeJp2(image, size, temporary, temporaryDir, jp2);
      await renameDurably(temporary, destination);
      return { width: size.width, height: size.height };
    } catch (error) {
      await rm(temporary, { force: true });
      if (error instanceof Jp2SourceError) throw new MasterError(await diagnose(master, error.source));
      throw new MasterError(`JPEG 2000 encoding failed: ${(error as Error).message}`);
    }
  }
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
    await renameDurably(temporary, destination);
    return { width: info.width, height: info.height };
  } catch (error) {
    await rm(temporary, { force: true });
    // The output's fault, not the master's: the batch stops with why (every page would fail alike).
    if (cannotWrite(error)) throw new Error(`cannot write the derivative ${temporary}: ${libvipsLine(error)}`);
    throw new MasterError(await diagnose(master, error));
  }
}

/** Whether libvips failed to create or fill the output file (folder gone, disk full), whatever the master. */
function cannotWrite(error: unknown): boolean {
  return /unable to open for write|no space left on device|disk quota exceeded/i.test(error instanceof Error ? error.message : String(error));
}

/** Whether the file is a JP2 or a raw J2K codestream, by its first bytes (names lie in legacy archives). */
async function isJpeg2000(master: string): Promise<boolean> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(master, 'r');
    const head = Buffer.alloc(12);
    const { bytesRead } = await handle.read(head, 0, 12, 0);
    return sniffFormat(head.subarray(0, bytesRead)) === 'jp2';
  } catch {
    return false; // unreadable: libvips' attempt reports why
  } finally {
    await handle?.close();
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
    if (format === 'tiff') await readIfds(handleReader(handle, size));
    return `damaged ${format.toUpperCase()}${line && !/unsupported image format/i.test(line) ? `: ${line}` : ' (truncated or corrupt)'}`;
  } catch (inner) {
    if (inner instanceof TiffFormatError) return /^truncated/.test(inner.message) ? inner.message : `damaged TIFF: ${inner.message}`;
    if (isSystemError(inner)) return unreadable(inner).message;
    return line || 'cannot be read';
  } finally {
    await handle?.close();
  }
}
