import { existsSync } from 'node:fs';
import { mkdir, rename } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { ROOT } from './setup.js';

/** A scan-like master (kept between runs): the reference image scaled up, with noise so it compresses like paper. */
export async function scanLikeMaster(file: string, width: number, height: number): Promise<void> {
  if (existsSync(file)) return;
  await mkdir(path.dirname(file), { recursive: true });
  const reference = path.resolve(ROOT, 'test/fixtures/67352ccc-d1b0-11e1-89ae-279075081939.png');
  const noise = sharp({ create: { width, height, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 0, sigma: 12 } } });
  await sharp(reference)
    .removeAlpha()
    .resize(width, height, { fit: 'fill' })
    .composite([{ input: await noise.png().toBuffer(), blend: 'overlay' }])
    .tiff({ compression: 'lzw' })
    .toFile(`${file}.tmp`);
  await rename(`${file}.tmp`, file);
}
