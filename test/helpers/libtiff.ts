import { execFile } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { decode, type Pixels } from './pixels.js';

// TIFF flavours are checked against libtiff's own decode (libtiff-tools' tiff2rgba, which goes
// through the same RGBA interface as any libtiff application), not against Vitrine's readers.
const run = promisify(execFile);

/** Directory `directory` of a TIFF as libtiff's tiff2rgba decodes it, as 8-bit RGB (alpha dropped). */
export async function tiff2rgba(file: string, directory = 0): Promise<Pixels> {
  const out = `${file}.rgba.tif`;
  // tiff2rgba converts every directory, in order, into an uncompressed RGBA TIFF.
  await run('tiff2rgba', ['-c', 'none', file, out]);
  try {
    return await decode(sharp(await readFile(out), { page: directory }).removeAlpha(), 3);
  } finally {
    await rm(out, { force: true });
  }
}

/** The part of reference pixels a region covers, resized as a server would (for reduced sizes). */
export async function referencePart(
  pixels: Pixels,
  region: { left: number; top: number; width: number; height: number },
  size?: { width: number; height: number },
): Promise<Pixels> {
  let image = sharp(pixels.data, { raw: { width: pixels.width, height: pixels.height, channels: pixels.channels as 3 } }).extract(region);
  if (size) image = sharp(await image.png().toBuffer()).resize(size.width, size.height, { fit: 'fill' });
  return decode(image, 3);
}

/**
 * Copies a classic TIFF (either byte order) with its last directory's next-IFD offset pointed back
 * at the first directory: the chain loops, as in files damaged by broken writers.
 */
export async function writeLoopedTiff(from: string, to: string): Promise<{ directories: number }> {
  const bytes = Buffer.from(await readFile(from));
  const little = bytes.toString('latin1', 0, 2) === 'II';
  const u16 = (at: number) => (little ? bytes.readUInt16LE(at) : bytes.readUInt16BE(at));
  const u32 = (at: number) => (little ? bytes.readUInt32LE(at) : bytes.readUInt32BE(at));
  if (u16(2) !== 42) throw new Error(`${from} is not a classic TIFF`);
  const first = u32(4);
  let offset = first;
  let directories = 0;
  for (;;) {
    directories++;
    const nextAt = offset + 2 + u16(offset) * 12;
    const next = u32(nextAt);
    if (next === 0) {
      if (little) bytes.writeUInt32LE(first, nextAt);
      else bytes.writeUInt32BE(first, nextAt);
      break;
    }
    offset = next;
  }
  await writeFile(to, bytes);
  return { directories };
}
