// Writes the seed corpus of the fuzz targets (native/fuzz/corpus/<target>/): small, valid files of the
// flavours Vitrine serves, each prefixed with the parameter bytes its target reads first (see the
// targets' comments). Run by hand when a flavour is added: node --import tsx native/fuzz/make-seeds.ts
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { withRestartMarkers } from '../../test/helpers/jpeg-restarts.js';
import { makeFlavours } from '../../test/helpers/jp2-flavours.js';
import { writeInterchangeOldJpegTiff, writeOldJpegTiff } from '../../test/helpers/ojpeg.js';

const corpus = path.resolve(import.meta.dirname, 'corpus');
const seed = (params: number[], file: Buffer): Buffer => Buffer.concat([Buffer.from(params), file]);

async function picture(width: number, height: number, channels: 1 | 3): Promise<{ data: Buffer; width: number; height: number; channels: 1 | 3 }> {
  const data = Buffer.alloc(width * height * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < channels; c++) data[(y * width + x) * channels + c] = (x * (c + 1) * 3 + y * 5 + ((x ^ y) & 15) * 4) & 255;
    }
  }
  return { data, width, height, channels };
}

async function main(): Promise<void> {
  const work = await mkdtemp(path.join(tmpdir(), 'vitrine-seeds-'));
  try {
    await rm(corpus, { recursive: true, force: true });
    for (const target of ['jp2_decode', 'tiff_rgba', 'region_decode', 'jpeg_crop']) await mkdir(path.join(corpus, target), { recursive: true });

    // JPEG 2000: every flavour the JP2 tests serve, decoded at one reduced level (the fuzzer varies it).
    for (const flavour of await makeFlavours(work)) {
      const bytes = await readFile(path.join(work, flavour.file));
      await writeFile(path.join(corpus, 'jp2_decode', flavour.file.replace(/\.\w+$/, '')), seed([1, 2, 3, 10, 8, 0], bytes));
    }

    // Old-style JPEG TIFFs: strips, one tile column, one interchange stream.
    const rgb = await picture(64, 48, 3);
    const ojpeg = [
      ['ojpeg-strips', (f: string) => writeOldJpegTiff(f, rgb, { rowsPerStrip: 16 })],
      ['ojpeg-tiles', (f: string) => writeOldJpegTiff(f, rgb, { tileWidth: 64, tileHeight: 16 })],
      ['ojpeg-interchange', (f: string) => writeInterchangeOldJpegTiff(f, rgb)],
    ] as const;
    for (const [name, write] of ojpeg) {
      const file = path.join(work, `${name}.tif`);
      await write(file);
      await writeFile(path.join(corpus, 'tiff_rgba', name), seed([0, 0, 63, 47], await readFile(file)));
    }
    // Ordinary TIFFs libtiff's RGBA interface reads too: tiled JPEG, strips of deflate, grey with alpha.
    const image = sharp(rgb.data, { raw: { width: rgb.width, height: rgb.height, channels: 3 } });
    const plain: [string, Buffer][] = [
      ['jpeg-tiled', await image.clone().tiff({ compression: 'jpeg', tile: true, tileWidth: 16, tileHeight: 16 }).toBuffer()],
      ['deflate-strips', await image.clone().tiff({ compression: 'deflate' }).toBuffer()],
      ['grey-alpha', await image.clone().grayscale().ensureAlpha().tiff({ compression: 'lzw' }).toBuffer()],
    ];
    for (const [name, bytes] of plain) await writeFile(path.join(corpus, 'tiff_rgba', name), seed([3, 5, 20, 20], bytes));

    // Stored JPEG tiles as pyramidal TIFFs hold them: YCbCr 4:2:0, RGB, grey; a 64×64 tile.
    const tile = await picture(64, 64, 3);
    const tileImage = sharp(tile.data, { raw: { width: 64, height: 64, channels: 3 } });
    const streams: [string, Buffer][] = [
      ['ycbcr420', await tileImage.clone().jpeg({ quality: 75 }).toBuffer()],
      ['ycbcr444', await tileImage.clone().jpeg({ quality: 90, chromaSubsampling: '4:4:4' }).toBuffer()],
      ['grey', await tileImage.clone().toColourspace('b-w').jpeg({ quality: 80 }).toBuffer()],
    ];
    for (const [name, bytes] of streams) {
      await writeFile(path.join(corpus, 'region_decode', `${name}-whole`), seed([0, 0, 0, 0, 0, 255, 255, 0], bytes));
      await writeFile(path.join(corpus, 'region_decode', `${name}-part-grey`), seed([1, 0, 1, 60, 90, 100, 80, 0], bytes));
      await writeFile(path.join(corpus, 'region_decode', `${name}-scaled`), seed([3, 0, 0, 0, 128, 255, 100, 0], bytes));
    }
    // Stored as RGB (Photometric RGB: no colour transform), unsubsampled as libtiff requires it.
    const rgbStream = streams.find(([name]) => name === 'ycbcr444')![1];
    await writeFile(path.join(corpus, 'region_decode', 'rgb-half'), seed([1, 1, 0, 10, 10, 200, 200, 0], rgbStream));

    // Tiles to crop as edge tiles are (standard Huffman tables, as TIFF tiles have them): YCbCr
    // 4:2:0 and 4:4:4, grey, with restart markers; the crop's width and height in 1/255ths.
    const standardTables = { optimiseCoding: false };
    const tiles: [string, Buffer][] = [
      ['ycbcr420', await tileImage.clone().jpeg({ quality: 80, ...standardTables }).toBuffer()],
      ['ycbcr444', await tileImage.clone().jpeg({ quality: 90, chromaSubsampling: '4:4:4', ...standardTables }).toBuffer()],
      ['grey', await tileImage.clone().toColourspace('b-w').jpeg({ quality: 80, ...standardTables }).toBuffer()],
    ];
    tiles.push(['ycbcr420-restarts', withRestartMarkers(tiles[0]![1], 3)]);
    for (const [name, bytes] of tiles) {
      await writeFile(path.join(corpus, 'jpeg_crop', `${name}-right`), seed([110, 255], bytes));
      await writeFile(path.join(corpus, 'jpeg_crop', `${name}-corner`), seed([77, 150], bytes));
    }
    for (const target of ['jp2_decode', 'tiff_rgba', 'region_decode', 'jpeg_crop']) {
      console.log(`${target}: ${(await readdir(path.join(corpus, target))).length} seeds`);
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

await main();
