import { execFile } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { opjCompress, type RawImage } from './jp2.js';
import { jp2File, LINEAR_GREY, packHeaders, ROMM_RGB, type Jp2Colour, type Jp2Palette } from './jp2-boxes.js';

// One small JPEG 2000 file per flavour that real archives hold and OpenJPEG decodes, made with
// opj_compress (lossless) and, for what it cannot declare, wrapped in JP2 boxes by jp2-boxes.ts.

const run = promisify(execFile);

export const WIDTH = 301;
export const HEIGHT = 203;

export interface Flavour {
  /** File name (its extension says JP2 or raw codestream). */
  readonly file: string;
  readonly what: string;
  /** Channels served: 1 grey, 3 RGB, 4 RGB + alpha. */
  readonly channels: 1 | 3 | 4;
  /** Where the image starts on the reference grid. */
  readonly x0: number;
  readonly y0: number;
  /**
   * The reference of a reduced level: opj_decompress -r ('opj'); the full decode averaged down, for a
   * palette whose indices cannot be reduced ('box'); opj_decompress's components upsampled onto the
   * level, for components of different sizes ('components').
   */
  readonly reduced: 'opj' | 'box' | 'components';
  /** Subsampling of each component. */
  readonly factors?: readonly (readonly [number, number])[];
  /**
   * opj_decompress -upsample fills the pixels before a component's first sample (an image offset
   * that is not a multiple of the subsampling) with zero; Vitrine repeats the first sample there.
   */
  readonly leadingEdge?: boolean;
}

/** Samples of a smooth test picture with some detail: `channels` planes' values at (x, y), 0…max. */
function picture(channels: number, max: number, width = WIDTH, height = HEIGHT): number[][] {
  const planes: number[][] = Array.from({ length: channels }, () => []);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const ring = (Math.sin((x * x + y * y) / 900) + 1) / 2;
      const opaque = x < width / 2 ? 1 : 1 - (x - width / 2) / width; // a fifth channel: alpha, opaque on the left
      const values = [x / (width - 1), y / (height - 1), ring, ((x + 2 * y) % 97) / 96, opaque];
      for (let c = 0; c < channels; c++) planes[c]!.push(Math.round(values[c % values.length]! * max));
    }
  }
  return planes;
}

function interleaved(planes: number[][], bits: 8 | 16): RawImage {
  const channels = planes.length as 1 | 3;
  const n = planes[0]!.length;
  const samples = bits === 8 ? new Uint8Array(n * channels) : new Uint16Array(n * channels);
  for (let i = 0; i < n; i++) for (let c = 0; c < channels; c++) samples[i * channels + c] = planes[c]![i]!;
  return { width: WIDTH, height: HEIGHT, channels, bits, samples };
}

/** A codestream written by opj_compress from a netpbm image. */
async function codestream(dir: string, name: string, image: RawImage, args: string[]): Promise<Buffer> {
  const file = path.join(dir, `${name}.j2k`);
  await opjCompress(file, image, args);
  try {
    return await readFile(file);
  } finally {
    await rm(file, { force: true });
  }
}

/**
 * A raw codestream of 8-bit components subsampled by `factors` ([dx, dy] each), from opj_compress's
 * raw input (planar, each component at its own size); the picture is sampled at each component's
 * reference-grid positions.
 */
async function subsampled(file: string, factors: [number, number][], args: string[] = []): Promise<void> {
  const planes: Buffer[] = factors.map(([dx, dy], c) => {
    const w = Math.ceil(WIDTH / dx);
    const h = Math.ceil(HEIGHT / dy);
    const full = picture(3, 255)[c]!;
    const plane = Buffer.alloc(w * h);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) plane[y * w + x] = full[y * dy * WIDTH + x * dx]!;
    return plane;
  });
  const raw = `${file}.raw`;
  await writeFile(raw, Buffer.concat(planes));
  const layout = factors.map(([dx, dy]) => `${dx}x${dy}`).join(':');
  try {
    await run('opj_compress', ['-i', raw, '-o', file, '-F', `${WIDTH},${HEIGHT},${factors.length},8,u@${layout}`, '-mct', '0', ...args]);
  } finally {
    await rm(raw, { force: true });
  }
}

/** Writes every flavour into `dir` and lists them. */
export async function makeFlavours(dir: string): Promise<Flavour[]> {
  const flavours: Flavour[] = [];
  const tiles = ['-t', '128,128', '-n', '4'];
  const wrap = async (file: string, what: string, image: RawImage, colour: Jp2Colour, args: string[] = [], palette?: Jp2Palette) => {
    await writeFile(path.join(dir, file), jp2File(await codestream(dir, file, image, [...tiles, ...args]), colour, palette));
    const channels = image.channels === 1 && !palette ? 1 : 3;
    flavours.push({ file, what, channels, x0: 0, y0: 0, reduced: palette ? 'box' : 'opj' });
  };
  await wrap('icc-romm-8.jp2', 'JP2 with a ROMM RGB ICC profile, 8-bit', interleaved(picture(3, 255), 8), { icc: ROMM_RGB });
  await wrap('icc-romm-16.jp2', 'JP2 with a ROMM RGB ICC profile, 16-bit', interleaved(picture(3, 65535), 16), { icc: ROMM_RGB });
  await wrap('icc-grey.jp2', 'greyscale JP2 with a linear-grey ICC profile', interleaved(picture(1, 255), 8), { icc: LINEAR_GREY });
  // CIELab with the default ranges: L from 0…255, a and b centred (no colour transform: -mct 0).
  const lab = picture(3, 255).map((plane, c) => (c === 0 ? plane.map((v) => 40 + v * 0.7) : plane.map((v) => 128 + (v - 128) * 0.5)).map(Math.round));
  await wrap('lab.jp2', 'JP2 in CIELab (enumerated 14)', interleaved(lab, 8), { enumerated: 14 }, ['-mct', '0']);
  const ycc = picture(3, 255).map((plane, c) => (c === 0 ? plane : plane.map((v) => 128 + Math.round((v - 128) * 0.6))));
  await wrap('sycc.jp2', 'JP2 in sYCC (enumerated 18)', interleaved(ycc, 8), { enumerated: 18 }, ['-mct', '0']);
  await wrap('esycc.jp2', 'JP2 in e-sYCC (enumerated 24)', interleaved(ycc, 8), { enumerated: 24 }, ['-mct', '0']);
  // A palette of 256 colours far apart, so that an averaged index picks a wrong one.
  const entries = Array.from({ length: 256 }, (_, i) => [(i * 71) % 256, (i * 151 + 40) % 256, (255 - i * 3) & 255]);
  const indices = picture(1, 255);
  await wrap('palette.jp2', 'JP2 with a palette (pclr, cmap)', interleaved(indices, 8), { enumerated: 16 }, [], { entries, bits: 8 });
  const cmykPlanes = picture(5, 255);
  await writeFile(
    path.join(dir, 'cmyk-alpha.jp2'),
    jp2File(await rawCodestream(dir, 'cmyk-alpha', cmykPlanes, [...tiles]), { enumerated: 12 }, undefined, true),
  );
  flavours.push({ file: 'cmyk-alpha.jp2', what: 'CMYK JP2 with an alpha channel (5 components)', channels: 4, x0: 0, y0: 0, reduced: 'opj' });

  const sub = async (file: string, what: string, factors: [number, number][], offset?: [number, number]) => {
    await subsampled(path.join(dir, file), factors, offset ? [...tiles, '-d', offset.join(',')] : tiles);
    const [x0, y0] = offset ?? [0, 0];
    const leadingEdge = factors.some(([dx, dy]) => x0 % dx !== 0 || y0 % dy !== 0);
    flavours.push({ file, what, channels: 3, x0, y0, reduced: file === 'ycc422.j2k' ? 'opj' : 'components', factors, leadingEdge });
  };
  await sub('ycc422.j2k', 'raw codestream, YCbCr 4:2:2', [[1, 1], [2, 1], [2, 1]]);
  await sub('first-sub2.j2k', 'raw codestream, first component subsampled 2×2, image offset (3, 1)', [[2, 2], [1, 1], [1, 1]], [3, 1]);
  await sub('first-sub4.j2k', 'raw codestream, first component subsampled 4×1', [[4, 1], [1, 1], [1, 1]]);
  await sub('all-sub.j2k', 'raw codestream, every component subsampled 2×2', [[2, 2], [2, 2], [2, 2]]);
  await opjCompress(path.join(dir, 'sop-eph.j2k'), interleaved(picture(3, 255), 8), ['-t', '16,16', '-n', '2', '-SOP', '-EPH', '-d', '7,5']);
  flavours.push({ file: 'sop-eph.j2k', what: 'raw codestream, 16×16 tiles with SOP/EPH markers, image offset (7, 5)', channels: 3, x0: 7, y0: 5, reduced: 'opj' });
  const sopEph = await codestream(dir, 'ppm', interleaved(picture(3, 255), 8), ['-t', '16,16', '-n', '2', '-SOP', '-EPH', '-d', '7,5']);
  await writeFile(path.join(dir, 'ppm.j2k'), packHeaders(sopEph));
  flavours.push({ file: 'ppm.j2k', what: 'raw codestream, 16×16 tiles, SOP/EPH, image offset (7, 5), packet headers packed in PPM', channels: 3, x0: 7, y0: 5, reduced: 'opj' });
  return flavours;
}

/** A raw codestream of 8-bit full-size components from opj_compress's raw input, no colour transform. */
async function rawCodestream(dir: string, name: string, planes: number[][], args: string[]): Promise<Buffer> {
  const raw = path.join(dir, `${name}.raw`);
  const file = path.join(dir, `${name}.j2k`);
  await writeFile(raw, Buffer.concat(planes.map((p) => Buffer.from(p))));
  try {
    await run('opj_compress', ['-i', raw, '-o', file, '-F', `${WIDTH},${HEIGHT},${planes.length},8,u`, '-mct', '0', ...args]);
    return await readFile(file);
  } finally {
    await rm(raw, { force: true });
    await rm(file, { force: true });
  }
}
