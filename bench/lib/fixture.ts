import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';

export const BENCH_DIR = path.resolve(import.meta.dirname, '../../.bench');
const REFERENCE = path.resolve(import.meta.dirname, '../../test/fixtures/67352ccc-d1b0-11e1-89ae-279075081939.png');

/**
 * The benchmark image: 6000×4500, tiled 256×256, JPEG quality 80, levels as further IFDs (what
 * `vips tiffsave --tile --pyramid --compression jpeg` and iipsrv's docs produce). Content is the IIIF
 * reference image scaled up with noise added, so tiles compress like a real scan rather than flat colour.
 */
export async function benchImage(): Promise<string> {
  const file = path.join(BENCH_DIR, 'images', 'bench.tif');
  if (existsSync(file)) return file;
  await mkdir(path.dirname(file), { recursive: true });
  const { width, height, base } = await benchPixels();
  const tmp = `${file}.tmp`;
  await sharp(base, { raw: { width, height, channels: 3 } })
    .tiff({ tile: true, tileWidth: 256, tileHeight: 256, pyramid: true, compression: 'jpeg', quality: 80 })
    .toFile(tmp);
  await rename(tmp, file);
  return file;
}

/** The benchmark image with its size, the folder servers are given as images, and a scratch folder for runs. */
export async function benchWorkspace(): Promise<{ image: string; width: number; height: number; images: string; work: string }> {
  const image = await benchImage();
  const { width, height } = await sharp(image).metadata();
  const work = path.join(BENCH_DIR, 'run');
  await mkdir(work, { recursive: true });
  return { image, width, height, images: path.dirname(image), work };
}

/** The benchmark picture as raw RGB, 6000×4500. */
export async function benchPixels(): Promise<{ width: number; height: number; base: Buffer }> {
  const width = 6000;
  const height = 4500;
  const noise = await sharp({ create: { width, height, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 24 } } })
    .raw()
    .toBuffer();
  const base = await sharp(REFERENCE).removeAlpha().resize(width, height, { fit: 'fill' }).raw().toBuffer();
  for (let i = 0; i < base.length; i++) base[i] = Math.max(0, Math.min(255, base[i]! + ((noise[i]! - 128) >> 2)));
  return { width, height, base };
}

/**
 * The same picture as a JPEG 2000 made the way archives serving JP2 make them (the common
 * Cantaloupe/iipsrv recipe): tiles 1024×1024, 6 resolutions, precincts 256/256/128, code-blocks
 * 64×64, RPCL, 9/7 at 20:1, PLT and TLM markers; encoded by opj_compress (libopenjp2-tools).
 */
export async function benchJp2(): Promise<string> {
  const file = path.join(BENCH_DIR, 'jp2', 'bench.jp2');
  if (existsSync(file)) return file;
  await mkdir(path.dirname(file), { recursive: true });
  const { width, height, base } = await benchPixels();
  const ppm = `${file}.ppm`;
  await writeFile(ppm, Buffer.concat([Buffer.from(`P6\n${width} ${height}\n255\n`, 'latin1'), base]));
  const tmp = `${file}.tmp.jp2`;
  execFileSync('opj_compress', ['-i', ppm, '-o', tmp, '-t', '1024,1024', '-n', '6', '-p', 'RPCL', '-c', '[256,256],[256,256],[128,128]', '-b', '64,64', '-I', '-r', '20', '-PLT', '-TLM', '-threads', String(cpus().length)], { stdio: 'ignore' });
  await rm(ppm);
  await rename(tmp, file);
  return file;
}
