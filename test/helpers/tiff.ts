import { writeFile } from 'node:fs/promises';
import sharp from 'sharp';

/**
 * Writes a single-level tiled TIFF with Photometric RGB whose tiles are self-contained JPEG streams
 * (no JPEGTables) made by sharp. libvips cannot write RGB JPEG tiles (it always stores YCbCr); here
 * each tile is encoded 4:4:4 and the components are declared RGB, so a reader must take the three
 * stored components as they are, without a colour transform (the picture then looks wrong, the
 * same wrong for every correct reader).
 */
export async function writeJpegTiledTiff(
  file: string,
  pixels: { data: Buffer; width: number; height: number },
  options: { tile: number; quality?: number },
): Promise<void> {
  const { width, height, data } = pixels;
  const { tile } = options;
  const across = Math.ceil(width / tile);
  const down = Math.ceil(height / tile);
  const tiles: Buffer[] = [];
  for (let row = 0; row < down; row++) {
    for (let col = 0; col < across; col++) {
      const w = Math.min(tile, width - col * tile);
      const h = Math.min(tile, height - row * tile);
      // Edge tiles are stored at the full tile size, padded by repeating the last column/row.
      const part = sharp(data, { raw: { width, height, channels: 3 } })
        .extract({ left: col * tile, top: row * tile, width: w, height: h })
        .extend({ right: tile - w, bottom: tile - h, extendWith: 'copy' });
      tiles.push(await part.jpeg({ quality: options.quality ?? 90, chromaSubsampling: '4:4:4' }).toBuffer());
    }
  }

  // Little-endian classic TIFF: header, tile data, then one IFD with its out-of-line values.
  const entries: Array<[tag: number, type: 3 | 4, values: number[]]> = [
    [256, 4, [width]],
    [257, 4, [height]],
    [258, 3, [8, 8, 8]],
    [259, 3, [7]], // JPEG
    [262, 3, [2]], // RGB
    [277, 3, [3]],
    [284, 3, [1]],
    [322, 4, [tile]],
    [323, 4, [tile]],
    [324, 4, []], // TileOffsets, filled below
    [325, 4, tiles.map((t) => t.length)],
  ];
  let offset = 8;
  const offsets = tiles.map((t) => {
    const at = offset;
    offset += t.length + (t.length % 2);
    return at;
  });
  entries[9]![2] = offsets;
  const ifdAt = offset;
  const ifdSize = 2 + entries.length * 12 + 4;
  let extraAt = ifdAt + ifdSize;
  const ifd = Buffer.alloc(ifdSize);
  const extras: Buffer[] = [];
  ifd.writeUInt16LE(entries.length, 0);
  entries.forEach(([tag, type, values], i) => {
    const at = 2 + i * 12;
    ifd.writeUInt16LE(tag, at);
    ifd.writeUInt16LE(type, at + 2);
    ifd.writeUInt32LE(values.length, at + 4);
    const size = type === 3 ? 2 : 4;
    const bytes = Buffer.alloc(values.length * size);
    values.forEach((v, j) => (type === 3 ? bytes.writeUInt16LE(v, j * 2) : bytes.writeUInt32LE(v, j * 4)));
    if (bytes.length <= 4) {
      bytes.copy(ifd, at + 8);
    } else {
      ifd.writeUInt32LE(extraAt, at + 8);
      extras.push(bytes);
      extraAt += bytes.length;
    }
  });
  ifd.writeUInt32LE(0, ifdSize - 4);
  const header = Buffer.alloc(8);
  header.write('II', 0, 'latin1');
  header.writeUInt16LE(42, 2);
  header.writeUInt32LE(ifdAt, 4);
  const body = tiles.flatMap((t) => (t.length % 2 ? [t, Buffer.alloc(1)] : [t]));
  await writeFile(file, Buffer.concat([header, ...body, ifd, ...extras]));
}
