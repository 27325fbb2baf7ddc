import sharp from 'sharp';

export interface PictureDifference {
  readonly width: number;
  readonly height: number;
  /** Mean absolute difference per 8-bit sample, over every pixel and RGB channel. */
  readonly meanDifference: number;
  /**
   * The same over the means of 4×4 blocks: what is left when the fine grain (JPEG noise, two
   * resampling kernels on a noisy picture) is averaged out. A wrong region or level still shows.
   */
  readonly blockDifference: number;
}

interface Rgb {
  data: Buffer;
  width: number;
  height: number;
}

async function rgb(input: Buffer | string): Promise<Rgb> {
  const { data, info } = await sharp(input).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`expected RGB, decoded ${info.channels} channels`);
  return { data, width: info.width, height: info.height };
}

/** Mean absolute difference over the common width × height, of pixels or of `block`×`block` means. */
function difference(a: Rgb, b: Rgb, width: number, height: number, block: number): number {
  let sum = 0;
  let count = 0;
  for (let by = 0; by + block <= height; by += block) {
    for (let bx = 0; bx + block <= width; bx += block) {
      for (let c = 0; c < 3; c++) {
        let sa = 0;
        let sb = 0;
        for (let y = by; y < by + block; y++) {
          for (let x = bx; x < bx + block; x++) {
            sa += a.data[(y * a.width + x) * 3 + c]!;
            sb += b.data[(y * b.width + x) * 3 + c]!;
          }
        }
        sum += Math.abs(sa - sb) / (block * block);
        count++;
      }
    }
  }
  return count === 0 ? 0 : sum / count;
}

/**
 * Decodes two pictures (encoded bytes or a file) and compares them. Throws when their dimensions
 * differ by more than `slack` pixels (1 allows the two rounding conventions for a height computed
 * from a width); otherwise compares the area they share.
 */
export async function comparePictures(ours: Buffer | string, theirs: Buffer | string, what: string, slack = 0): Promise<PictureDifference> {
  const [a, b] = await Promise.all([rgb(ours), rgb(theirs)]);
  if (Math.abs(a.width - b.width) > slack || Math.abs(a.height - b.height) > slack) {
    throw new Error(`${what}: Vitrine ${a.width}×${a.height}, peer ${b.width}×${b.height}`);
  }
  const width = Math.min(a.width, b.width);
  const height = Math.min(a.height, b.height);
  return { width, height, meanDifference: difference(a, b, width, height, 1), blockDifference: difference(a, b, width, height, 4) };
}
