import { maxSize } from './resolve.js';
import type { ApiVersion, Dimensions, ImageRequest, SizeLimits } from './request.js';

/** The canonical `{region}/{size}/{rotation}/{quality}.{format}` path of a resolved request. */
export function canonicalPath(request: ImageRequest, image: Dimensions, limits: SizeLimits, version: ApiVersion): string {
  const { region, size } = request;
  const isFull = region.x === 0 && region.y === 0 && region.width === image.width && region.height === image.height;
  const regionPart = isFull ? 'full' : `${region.x},${region.y},${region.width},${region.height}`;
  const rotationPart = `${request.mirror ? '!' : ''}${plainDecimal(request.rotation)}`;
  return `${regionPart}/${canonicalSize(request, limits, version)}/${rotationPart}/${request.quality}.${request.format}`;
}

/**
 * The shortest decimal that reads back as `n`, without the exponent `String` uses below 1e-6
 * (`1e-7` is not in the rotation grammar, so a canonical URL with it would be refused).
 */
export function plainDecimal(n: number): string {
  const text = String(n);
  const exponent = /^(\d)(?:\.(\d+))?e-(\d+)$/.exec(text);
  if (!exponent) return text;
  const [, lead, rest = '', power] = exponent as unknown as [string, string, string | undefined, string];
  return `0.${'0'.repeat(Number(power) - 1)}${lead}${rest}`;
}

function same(a: Dimensions, b: Dimensions): boolean {
  return a.width === b.width && a.height === b.height;
}

function canonicalSize(request: ImageRequest, limits: SizeLimits, version: ApiVersion): string {
  const { region, size } = request;
  if (version === 2) {
    if (same(size, region)) return 'full';
    const keepsAspect = Math.round((region.height * size.width) / region.width) === size.height;
    return keepsAspect ? `${size.width},` : `${size.width},${size.height}`;
  }
  const upscaled = size.width > region.width || size.height > region.height;
  if (!upscaled && same(size, maxSize(region, limits, false))) return 'max';
  if (upscaled && same(size, maxSize(region, limits, true))) return '^max';
  return `${upscaled ? '^' : ''}${size.width},${size.height}`;
}
