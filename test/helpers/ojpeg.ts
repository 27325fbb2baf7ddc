import { writeFile } from 'node:fs/promises';
import sharp from 'sharp';
import type { Pixels } from './pixels.js';

// Old-style JPEG TIFFs (compression 6, TIFF 6.0 section 22), made here because no maintained tool
// writes them any more (libtiff reads them only). Each strip or tile is a baseline JPEG encoded by
// sharp (libjpeg-turbo, YCbCr 4:2:0): its entropy-coded segment becomes the strip's or tile's data
// and its tables the JPEGQTables / JPEGDCTables / JPEGACTables of the directory ("tables" layout);
// or the whole image is one JPEG stream that JPEGInterchangeFormat points at, and the strip is its
// entropy-coded segment ("interchange" layout, as scanners and fax software wrote).

interface JpegParts {
  /** Quantisation tables by id (64 bytes each, zig-zag order, 8-bit). */
  readonly quant: Map<number, Buffer>;
  /** Huffman tables by class and id ('dc0', 'ac1', …): 16 counts then the values. */
  readonly huffman: Map<string, Buffer>;
  /** Per component (Y, Cb, Cr): its quantisation table id and its DC/AC Huffman table ids. */
  readonly components: { q: number; dc: number; ac: number }[];
  /** Where the entropy-coded segment starts and ends (before EOI) in the stream. */
  readonly scanStart: number;
  readonly scanEnd: number;
}

function jpegParts(jpeg: Buffer): JpegParts {
  const quant = new Map<number, Buffer>();
  const huffman = new Map<string, Buffer>();
  const qOf: number[] = [];
  const components: { q: number; dc: number; ac: number }[] = [];
  let i = 2;
  for (;;) {
    if (jpeg[i] !== 0xff) throw new Error(`not a marker at ${i}`);
    const marker = jpeg[i + 1]!;
    const length = jpeg.readUInt16BE(i + 2);
    const body = jpeg.subarray(i + 4, i + 2 + length);
    if (marker === 0xdb) {
      for (let t = 0; t < body.length; t += 65) {
        if (body[t]! >> 4) throw new Error('16-bit quantisation table');
        quant.set(body[t]! & 15, Buffer.from(body.subarray(t + 1, t + 65)));
      }
    } else if (marker === 0xc4) {
      for (let t = 0; t < body.length; ) {
        const counts = body.subarray(t + 1, t + 17);
        const total = counts.reduce((a, b) => a + b, 0);
        huffman.set(`${body[t]! >> 4 ? 'ac' : 'dc'}${body[t]! & 15}`, Buffer.from(body.subarray(t + 1, t + 17 + total)));
        t += 17 + total;
      }
    } else if (marker === 0xc0) {
      for (let c = 0; c < body[5]!; c++) qOf.push(body[6 + c * 3 + 2]!);
    } else if (marker === 0xda) {
      for (let c = 0; c < body[0]!; c++) {
        const tables = body[1 + c * 2 + 1]!;
        components.push({ q: qOf[c]!, dc: tables >> 4, ac: tables & 15 });
      }
      const scanStart = i + 2 + length;
      if (jpeg.readUInt16BE(jpeg.length - 2) !== 0xffd9) throw new Error('no EOI at the end');
      return { quant, huffman, components, scanStart, scanEnd: jpeg.length - 2 };
    } else if (marker === 0xc2 || marker === 0xc1) {
      throw new Error('not a baseline JPEG');
    }
    i += 2 + length;
  }
}

type Entry = [tag: number, type: 3 | 4 | 5, values: number[]];

/** A little-endian classic TIFF with one directory: header, data blocks, IFD, out-of-line values. */
function tiffFile(blocks: Buffer[], entries: (offsets: number[]) => Entry[]): Buffer {
  const offsets: number[] = [];
  let at = 8;
  for (const block of blocks) {
    offsets.push(at);
    at += block.length + (block.length % 2);
  }
  const list = entries(offsets).sort((a, b) => a[0] - b[0]);
  const ifdAt = at;
  const ifd = Buffer.alloc(2 + list.length * 12 + 4);
  let extraAt = ifdAt + ifd.length;
  const extras: Buffer[] = [];
  ifd.writeUInt16LE(list.length, 0);
  list.forEach(([tag, type, values], n) => {
    const e = 2 + n * 12;
    ifd.writeUInt16LE(tag, e);
    ifd.writeUInt16LE(type, e + 2);
    ifd.writeUInt32LE(type === 5 ? values.length / 2 : values.length, e + 4);
    const size = type === 3 ? 2 : 4;
    const bytes = Buffer.alloc(values.length * size);
    values.forEach((v, j) => (type === 3 ? bytes.writeUInt16LE(v, j * 2) : bytes.writeUInt32LE(v, j * 4)));
    if (bytes.length <= 4) bytes.copy(ifd, e + 8);
    else {
      ifd.writeUInt32LE(extraAt, e + 8);
      extras.push(bytes);
      extraAt += bytes.length;
    }
  });
  const header = Buffer.from([0x49, 0x49, 42, 0, 0, 0, 0, 0]);
  header.writeUInt32LE(ifdAt, 4);
  return Buffer.concat([header, ...blocks.flatMap((b) => (b.length % 2 ? [b, Buffer.alloc(1)] : [b])), ifd, ...extras]);
}

/** Tags every old-style JPEG directory here has: 8-bit YCbCr 4:2:0 (subsampling 2×2), full range. */
function commonEntries(width: number, height: number): Entry[] {
  return [
    [256, 4, [width]],
    [257, 4, [height]],
    [258, 3, [8, 8, 8]],
    [259, 3, [6]], // old-style JPEG
    [262, 3, [6]], // YCbCr
    [277, 3, [3]],
    [284, 3, [1]],
    [512, 3, [1]], // JPEGProc: baseline
    [530, 3, [2, 2]], // YCbCrSubsampling
    [532, 5, [0, 1, 255, 1, 128, 1, 255, 1, 128, 1, 255, 1]], // ReferenceBlackWhite: JPEG's full range
  ];
}

function encode(pixels: Pixels, left: number, top: number, width: number, height: number, padTo?: { width: number; height: number }): Promise<Buffer> {
  let image = sharp(pixels.data, { raw: { width: pixels.width, height: pixels.height, channels: 3 } }).extract({ left, top, width, height });
  if (padTo) image = image.extend({ right: padTo.width - width, bottom: padTo.height - height, extendWith: 'copy' });
  return image.jpeg({ quality: 90, chromaSubsampling: '4:2:0', optimiseCoding: false }).toBuffer();
}

/**
 * Writes `pixels` (8-bit RGB) as an old-style JPEG TIFF with the JPEG tables in the directory:
 * tiled (edge tiles padded) or in strips of `rowsPerStrip` rows; sides are multiples of 16. libtiff
 * reads tiled old-style JPEG only as one column of tiles (a tile as wide as the image or wider):
 * it decodes the tiles as one JPEG stream, one below the other.
 */
export async function writeOldJpegTiff(
  file: string,
  pixels: Pixels,
  layout: { tileWidth: number; tileHeight: number } | { rowsPerStrip: number },
): Promise<void> {
  const { width, height } = pixels;
  const streams: Buffer[] = [];
  if ('tileWidth' in layout) {
    const { tileWidth, tileHeight } = layout;
    for (let y = 0; y < height; y += tileHeight) {
      for (let x = 0; x < width; x += tileWidth) {
        streams.push(await encode(pixels, x, y, Math.min(tileWidth, width - x), Math.min(tileHeight, height - y), { width: tileWidth, height: tileHeight }));
      }
    }
  } else {
    for (let y = 0; y < height; y += layout.rowsPerStrip) streams.push(await encode(pixels, 0, y, width, Math.min(layout.rowsPerStrip, height - y)));
  }
  const parts = streams.map(jpegParts);
  const first = parts[0]!;
  for (const p of parts) {
    for (const [id, table] of p.quant) if (!first.quant.get(id)?.equals(table)) throw new Error('strips or tiles with different quantisation tables');
    for (const [id, table] of p.huffman) if (!first.huffman.get(id)?.equals(table)) throw new Error('strips or tiles with different Huffman tables');
  }
  const tables = first.components.flatMap((c) => [first.quant.get(c.q)!, first.huffman.get(`dc${c.dc}`)!, first.huffman.get(`ac${c.ac}`)!]);
  const data = parts.map((p, i) => streams[i]!.subarray(p.scanStart, p.scanEnd));
  const n = data.length;
  const bytes = await tiffFile([...data, ...tables], (offsets) => {
    const [dataAt, tableAt] = [offsets.slice(0, n), offsets.slice(n)];
    const entries: Entry[] = [
      ...commonEntries(width, height),
      [519, 4, [0, 1, 2].map((c) => tableAt[c * 3]!)], // JPEGQTables
      [520, 4, [0, 1, 2].map((c) => tableAt[c * 3 + 1]!)], // JPEGDCTables
      [521, 4, [0, 1, 2].map((c) => tableAt[c * 3 + 2]!)], // JPEGACTables
    ];
    const counts = data.map((d) => d.length);
    if ('tileWidth' in layout) entries.push([322, 4, [layout.tileWidth]], [323, 4, [layout.tileHeight]], [324, 4, dataAt], [325, 4, counts]);
    else entries.push([273, 4, dataAt], [278, 4, [layout.rowsPerStrip]], [279, 4, counts]);
    return entries;
  });
  await writeFile(file, bytes);
}

/** Writes `pixels` as an old-style JPEG TIFF whose JPEGInterchangeFormat is one whole JPEG stream, in one strip. */
export async function writeInterchangeOldJpegTiff(file: string, pixels: Pixels): Promise<void> {
  const { width, height } = pixels;
  const stream = await encode(pixels, 0, 0, width, height);
  const { scanStart, scanEnd } = jpegParts(stream);
  const bytes = await tiffFile([stream], ([at]) => [
    ...commonEntries(width, height),
    [513, 4, [at!]], // JPEGInterchangeFormat
    [514, 4, [stream.length]], // JPEGInterchangeFormatLength
    [273, 4, [at! + scanStart]],
    [278, 4, [height]],
    [279, 4, [scanEnd - scanStart]],
  ]);
  await writeFile(file, bytes);
}
