import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp, { type Sharp, type TiffOptions } from 'sharp';
import { REFERENCE_PNG } from './server.js';

/** The picture of page `n`: a crop of the reference image that differs from page to page. */
export function pagePicture(n: number, width = 400, height = 300): Sharp {
  return sharp(REFERENCE_PNG).removeAlpha().extract({ left: 37 * n, top: 23 * n, width, height });
}

/** What a derivative of page `n` should show, as raw 8-bit RGB. */
export async function expectedPage(n: number, width = 400, height = 300): Promise<Buffer> {
  return pagePicture(n, width, height).raw().toBuffer();
}

async function write(file: string, data: Buffer | Promise<Buffer>): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, await data);
}

/**
 * A small corpus of masters with every flavour and defect an archive has. Returns the folder.
 *
 *   names/      three spellings of one numbering, with a gap (2 missing): anomalies gap + mixed
 *   sides/      001r 001v 002r (with page10/page2 natural order in plain/)
 *   plain/      page2.png, page10.png
 *   flavours/   8-bit LZW, 16-bit deflate, grey, bitonal G4, CMYK, JPEG-in-TIFF, Display P3 profile,
 *               a 2-page TIFF, an EXIF-rotated JPEG, a PNG with alpha
 *   broken/     empty, truncated, not an image, plus a good page
 *   junk everywhere: Thumbs.db, .DS_Store, ._x.tif, notes.txt
 */
export async function buildCorpus(root: string): Promise<void> {
  const tif = (n: number, options: TiffOptions = {}) => pagePicture(n).tiff({ compression: 'lzw', ...options }).toBuffer();

  await write(path.join(root, 'names/fa002-box1-folder2-001.TIF'), tif(1));
  await write(path.join(root, 'names/FA002_B1_F2_003.tif'), tif(3));
  await write(path.join(root, 'names/fa002 box1 folder2 004.tif'), tif(4));

  await write(path.join(root, 'sides/002r.tif'), tif(3));
  await write(path.join(root, 'sides/001v.tif'), tif(2));
  await write(path.join(root, 'sides/001r.tif'), tif(1));

  await write(path.join(root, 'plain/page10.png'), pagePicture(2).png().toBuffer());
  await write(path.join(root, 'plain/page2.png'), pagePicture(1).png().toBuffer());

  const f = (name: string) => path.join(root, 'flavours', name);
  await write(f('01-lzw.tif'), tif(1));
  await write(f('02-rgb16.tif'), pagePicture(2).toColourspace('rgb16').tiff({ compression: 'deflate' }).toBuffer());
  await write(f('03-grey.tif'), pagePicture(3).toColourspace('b-w').tiff({ compression: 'lzw' }).toBuffer());
  await write(f('04-bitonal-g4.tif'), pagePicture(4).toColourspace('b-w').threshold(128).tiff({ bitdepth: 1, compression: 'ccittfax4' }).toBuffer());
  await write(f('05-cmyk.tif'), pagePicture(5).toColourspace('cmyk').tiff({ compression: 'lzw' }).toBuffer());
  await write(f('06-jpeg-in-tiff.tif'), tif(6, { compression: 'jpeg', quality: 92 }));
  await write(f('07-display-p3.tif'), pagePicture(7).withIccProfile('p3').tiff({ compression: 'lzw' }).toBuffer());
  const [p8, p9] = await Promise.all([pagePicture(8).png().toBuffer(), pagePicture(9).png().toBuffer()]);
  await write(f('08-two-pages.tif'), sharp([p8, p9], { join: { animated: true } }).tiff({ compression: 'lzw' }).toBuffer());
  // Stored landscape 300×400 with orientation 6 (rotate 90° clockwise to view): shows as 400×300 … of page 10.
  await write(f('09-exif-rotated.jpg'), pagePicture(10).rotate(-90).jpeg({ quality: 95 }).withMetadata({ orientation: 6 }).toBuffer());
  await write(f('10-alpha.png'), pagePicture(11).ensureAlpha(0.5).png().toBuffer());

  const good = await tif(1);
  await write(path.join(root, 'broken/001.tif'), good);
  await write(path.join(root, 'broken/002.tif'), Buffer.alloc(0));
  await write(path.join(root, 'broken/003.tif'), good.subarray(0, Math.floor(good.length / 2)));
  await write(path.join(root, 'broken/004.jpg'), Buffer.from('scanner operator notes, not a JPEG\n'));

  for (const folder of ['names', 'flavours', 'broken']) {
    await write(path.join(root, folder, 'Thumbs.db'), Buffer.from('junk'));
    await write(path.join(root, folder, '.DS_Store'), Buffer.from('junk'));
    await write(path.join(root, folder, '._001.tif'), Buffer.from('junk'));
  }
  await write(path.join(root, 'names/notes.txt'), Buffer.from('box 1, folder 2: page 2 missing from the original\n'));
}

/** Masters big enough for a batch to take a few seconds: `count` pages of `size`×`size` pixels. */
export async function buildBatch(root: string, count: number, size: number): Promise<void> {
  const base = await sharp(REFERENCE_PNG).removeAlpha().resize(size, size).tiff({ compression: 'lzw' }).toBuffer();
  for (let i = 1; i <= count; i++) await write(path.join(root, `box${Math.ceil(i / 10)}`, `page-${String(i).padStart(3, '0')}.tif`), base);
}
