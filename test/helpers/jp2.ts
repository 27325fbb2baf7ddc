import { execFile } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Raw pixels to write as a PPM (RGB) or PGM (grey), 8 or 16 bits per sample (16: big-endian). */
export interface RawImage {
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 3;
  readonly bits: 8 | 16;
  /** width × height × channels samples. */
  readonly samples: Uint8Array | Uint16Array;
}

/** Writes a netpbm file (the input format both opj_compress and ojph_compress read). */
export async function writeNetpbm(file: string, image: RawImage): Promise<void> {
  const max = image.bits === 16 ? 65535 : 255;
  const header = Buffer.from(`${image.channels === 3 ? 'P6' : 'P5'}\n${image.width} ${image.height}\n${max}\n`, 'latin1');
  let body: Buffer;
  if (image.bits === 8) {
    body = Buffer.from(image.samples.buffer, image.samples.byteOffset, image.samples.byteLength);
  } else {
    body = Buffer.alloc(image.samples.length * 2);
    image.samples.forEach((v, i) => body.writeUInt16BE(v, i * 2));
  }
  await writeFile(file, Buffer.concat([header, body]));
}

/**
 * Encodes a raw image as JPEG 2000 with OpenJPEG's opj_compress (Debian libopenjp2-tools), lossless
 * unless `args` say otherwise; the output's extension picks JP2 or raw J2K.
 */
export async function opjCompress(output: string, image: RawImage, args: string[] = []): Promise<void> {
  const input = `${output}.${image.channels === 3 ? 'ppm' : 'pgm'}`;
  await writeNetpbm(input, image);
  try {
    await run('opj_compress', ['-i', input, '-o', output, ...args]);
  } finally {
    await rm(input, { force: true });
  }
}

/** Encodes a raw image as a High-Throughput JPEG 2000 codestream with OpenJPH's ojph_compress (openjph-tools). */
export async function ojphCompress(output: string, image: RawImage, args: string[] = []): Promise<void> {
  const input = `${output}.${image.channels === 3 ? 'ppm' : 'pgm'}`;
  await writeNetpbm(input, image);
  try {
    await run('ojph_compress', ['-i', input, '-o', output, ...args]);
  } finally {
    await rm(input, { force: true });
  }
}
