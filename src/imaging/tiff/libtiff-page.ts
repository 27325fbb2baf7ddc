import { open } from 'node:fs/promises';
import sharp from '../sharp.js';
import type { NativeBinding } from '../native.js';
import { sniffFormat } from '../open-source.js';
import { handleReader } from '../../storage/file-bytes.js';
import { readIfds } from './ifd.js';
import { decodeWithLibtiff, needsLibtiff } from './libtiff.js';
import { StripTiffWriter } from './strip-writer.js';

/** Pixels decoded per libtiff call when a page is converted: memory follows a band, not the page. */
const BAND_PIXELS = 16 * 1024 * 1024;
/** Rows per strip of the intermediate TIFF: what libvips reads at a time. */
const TIFF_STRIP_ROWS = 64;

export class LibtiffPageError extends Error {
  override name = 'LibtiffPageError';
}

/** The directory of page `page` of a TIFF master when only libtiff can decode it (see needsLibtiff), else undefined. */
export interface LibtiffPage {
  /** The page's index among the file's directories, and its directory's offset. */
  readonly page: number;
  readonly offset: number;
  readonly width: number;
  readonly height: number;
}

/** The directory of page `page` of a TIFF master when only libtiff can decode it (see needsLibtiff), else undefined. */
export async function libtiffPage(master: string, page: number): Promise<LibtiffPage | undefined> {
  const file = await open(master, 'r');
  try {
    const { size } = await file.stat();
    const head = Buffer.alloc(16);
    const { bytesRead } = await file.read(head, 0, 16, 0);
    if (sniffFormat(head.subarray(0, bytesRead)) !== 'tiff') return undefined;
    const ifd = (await readIfds(handleReader(file, size)).catch(() => []))[page];
    return ifd && needsLibtiff(ifd) ? { page, offset: ifd.offset, width: ifd.width, height: ifd.height } : undefined;
  } finally {
    await file.close();
  }
}

/**
 * Decodes a TIFF page that sharp cannot read (old-style JPEG) with libtiff, band by band, into `tiff`,
 * an uncompressed strip TIFF carrying the page's ICC profile, which the pipeline then reads like any
 * master (as JPEG 2000 masters are).
 */
export async function decodeLibtiffPage(
  master: string,
  page: LibtiffPage,
  tiff: string,
  maxInputPixels: number,
  native: NativeBinding | undefined,
): Promise<{ width: number; height: number }> {
  const { width, height } = page;
  if (width * height > maxInputPixels) throw new LibtiffPageError(`too large: ${width}×${height} is over the maxInputPixels limit (${maxInputPixels})`);
  // libvips reads the header of such a file (not its pixels): the ICC profile, when there is one.
  const iccProfile = await sharp(master, { page: page.page })
    .metadata()
    .then((meta) => meta.icc)
    .catch(() => undefined);
  const file = await open(master, 'r');
  let writer: StripTiffWriter | undefined;
  try {
    const rows = Math.max(16, Math.floor(BAND_PIXELS / width));
    for (let top = 0; top < height; top += rows) {
      const bottom = Math.min(height, top + rows);
      const band = await decodeWithLibtiff(file.fd, page.offset, { left: 0, top, right: width, bottom }, native);
      writer ??= await StripTiffWriter.create(tiff, { width, height, channels: band.channels, rowsPerStrip: TIFF_STRIP_ROWS, iccProfile });
      if (band.channels !== writer.channels) throw new LibtiffPageError('libtiff decoded bands of different channel counts');
      await writer.writeRows(band.data);
    }
    await writer!.close();
    writer = undefined;
    return { width, height };
  } finally {
    await writer?.abandon();
    await file.close();
  }
}
