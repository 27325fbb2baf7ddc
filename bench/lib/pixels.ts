import sharp from 'sharp';

export interface PictureDifference {
  readonly width: number;
  readonly height: number;
  /** Mean absolute difference per 8-bit sample, over every pixel and RGB channel. */
  readonly meanDifference: number;
}

async function rgb(input: Buffer | string): Promise<{ data: Buffer; width: number; height: number }> {
  const { data, info } = await sharp(input).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`expected RGB, decoded ${info.channels} channels`);
  return { data, width: info.width, height: info.height };
}

/**
 * Decodes two pictures (encoded bytes or a file) and compares them: same dimensions, and how far apart
 * their pixels are. Throws when the dimensions differ: no tolerance applies to a wrong size.
 */
export async function comparePictures(ours: Buffer | string, theirs: Buffer | string, what: string): Promise<PictureDifference> {
  const [a, b] = await Promise.all([rgb(ours), rgb(theirs)]);
  if (a.width !== b.width || a.height !== b.height) throw new Error(`${what}: Vitrine ${a.width}×${a.height}, peer ${b.width}×${b.height}`);
  let sum = 0;
  for (let i = 0; i < a.data.length; i++) sum += Math.abs(a.data[i]! - b.data[i]!);
  return { width: a.width, height: a.height, meanDifference: sum / a.data.length };
}
