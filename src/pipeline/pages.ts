import { open } from 'node:fs/promises';
import { sniffFormat } from '../imaging/open-source.js';
import { readIfds } from '../imaging/tiff/ifd.js';
import { handleReader } from '../storage/file-bytes.js';
import type { ScannedFile } from './scan.js';

/**
 * The directories of a master that are pages: for a TIFF every full-resolution directory (a
 * multi-page TIFF is several pages in order; reduced-resolution ones, as in an existing pyramid,
 * are not pages); for other formats the single image. What the file is comes from its first bytes,
 * not its name (legacy archives hold TIFFs named .jpg). Reads the header only. A file that cannot
 * be parsed counts as one page, so the conversion reports its error with the rest of the batch.
 */
export async function pageDirectories(file: ScannedFile): Promise<readonly number[]> {
  const handle = await open(file.absolutePath, 'r').catch(() => undefined);
  if (!handle) return [0];
  try {
    const head = Buffer.alloc(16);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    if (sniffFormat(head.subarray(0, bytesRead)) !== 'tiff') return [0];
    const ifds = await readIfds(handleReader(handle, file.size));
    const pages = ifds.flatMap((ifd, index) => ((ifd.subfileType & 1) === 0 ? [index] : []));
    return pages.length > 0 ? pages : [0];
  } catch {
    return [0];
  } finally {
    await handle.close();
  }
}
