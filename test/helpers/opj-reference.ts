import { readFile, rm } from 'node:fs/promises';
import sharp from 'sharp';
import { run } from './opj.js';
import { decode, type Pixels } from './pixels.js';

// Reference decodes by OpenJPEG's own opj_decompress, which applies the colour conversions of
// OpenJPEG's tools (sYCC, e-sYCC, CMYK, CIELab and ICC profiles through Little CMS).

/** opj_decompress's decode of the whole image at `reduce`, as 8-bit pixels of `channels` channels. */
export async function opjReference(file: string, channels: 1 | 3 | 4, reduce = 0): Promise<Pixels> {
  const png = `${file}.reference.png`;
  // -upsample brings subsampled components to the image's size; OpenJPEG refuses it with -r.
  await run('opj_decompress', ['-i', file, '-o', png, '-quiet', ...(reduce > 0 ? ['-r', String(reduce)] : ['-upsample'])]);
  try {
    return await decode(sharp(await readFile(png)), channels);
  } finally {
    await rm(png, { force: true });
  }
}

/**
 * opj_decompress's components at `reduce`, each upsampled onto the level's reference grid as the
 * standard places them (sample i of a component subsampled by dx at i·dx), showing the sample at or
 * before each pixel: the reference for images whose components differ in size, which opj_decompress
 * cannot write as one picture when reducing.
 */
export async function opjComponents(
  file: string,
  geometry: { x0: number; y0: number; x1: number; y1: number; factors: readonly (readonly [number, number])[] },
  reduce: number,
): Promise<Pixels> {
  const base = `${file}.reference.pgx`;
  await run('opj_decompress', ['-i', file, '-o', base, '-quiet', '-r', String(reduce)]);
  const f = 2 ** reduce;
  const level = (v: number): number => Math.ceil(v / f);
  const width = level(geometry.x1) - level(geometry.x0);
  const height = level(geometry.y1) - level(geometry.y0);
  const channels = geometry.factors.length;
  const data = Buffer.alloc(width * height * channels);
  try {
    for (let c = 0; c < channels; c++) {
      const pgx = await readFile(base.replace(/\.pgx$/, `_${c}.pgx`));
      const headerEnd = pgx.indexOf(10);
      const [, , , bits, w, h] = pgx.toString('latin1', 0, headerEnd).trim().split(/\s+/);
      if (bits !== '8') throw new Error(`${file}: component ${c} is not 8-bit`);
      const cw = Number(w);
      const ch = Number(h);
      const samples = pgx.subarray(headerEnd + 1);
      const [dx, dy] = geometry.factors[c]!;
      const originX = Math.ceil(Math.ceil(geometry.x0 / dx) / f);
      const originY = Math.ceil(Math.ceil(geometry.y0 / dy) / f);
      for (let y = 0; y < height; y++) {
        const sy = Math.min(ch - 1, Math.max(0, Math.floor((level(geometry.y0) + y) / dy) - originY));
        for (let x = 0; x < width; x++) {
          const sx = Math.min(cw - 1, Math.max(0, Math.floor((level(geometry.x0) + x) / dx) - originX));
          data[(y * width + x) * channels + c] = samples[sy * cw + sx]!;
        }
      }
    }
  } finally {
    for (let c = 0; c < channels; c++) await rm(base.replace(/\.pgx$/, `_${c}.pgx`), { force: true });
  }
  return { width, height, channels, data };
}

/** `image` averaged down by 2^reduce on a grid starting at (x0, y0), as a level of a JPEG 2000 image. */
export function boxReduce(image: Pixels, x0: number, y0: number, reduce: number): Pixels {
  const f = 2 ** reduce;
  const { channels } = image;
  const lx0 = Math.ceil(x0 / f);
  const ly0 = Math.ceil(y0 / f);
  const width = Math.ceil((x0 + image.width) / f) - lx0;
  const height = Math.ceil((y0 + image.height) / f) - ly0;
  const data = Buffer.alloc(width * height * channels);
  for (let Y = 0; Y < height; Y++) {
    const top = Math.max(y0, (ly0 + Y) * f) - y0;
    const bottom = Math.min(y0 + image.height, (ly0 + Y + 1) * f) - y0;
    for (let X = 0; X < width; X++) {
      const left = Math.max(x0, (lx0 + X) * f) - x0;
      const right = Math.min(x0 + image.width, (lx0 + X + 1) * f) - x0;
      for (let c = 0; c < channels; c++) {
        let sum = 0;
        for (let y = top; y < bottom; y++) for (let x = left; x < right; x++) sum += image.data[(y * image.width + x) * channels + c]!;
        const count = (right - left) * (bottom - top);
        data[(Y * width + X) * channels + c] = Math.floor((sum + Math.floor(count / 2)) / count);
      }
    }
  }
  return { width, height, channels, data };
}
