import { IiifError } from '../image-api/errors.js';
import type { ImageDescription } from '../image-api/info.js';
import type { Dimensions, ImageRequest, ParsedImageRequest, SizeLimits } from '../image-api/request.js';
import { resolveRegion, resolveRequest } from '../image-api/resolve.js';

/**
 * A degraded image is the whole image at most `maxSize` px on its longest side: any region, at a
 * scale no finer than that (a crop of a detail at full resolution is not degraded).
 */

/** The scale a degraded view allows (1 when the image is already small enough). */
export const degradedScale = (image: Dimensions, maxSize: number): number => Math.min(1, maxSize / Math.max(image.width, image.height));

/** The server's limits, tightened to what a degraded view of the region allows. */
export function degradedLimits(image: Dimensions, region: Dimensions, maxSize: number, limits: SizeLimits): SizeLimits {
  const scale = degradedScale(image, maxSize);
  // Rounded up: a size the client computed from the allowed scale may round either way by a pixel.
  const at = (side: number): number => Math.max(1, Math.ceil(side * scale - 1e-9));
  const maxWidth = Math.min(limits.maxWidth ?? Infinity, at(region.width));
  const maxHeight = Math.min(limits.maxHeight ?? limits.maxWidth ?? Infinity, at(region.height));
  return { maxWidth, maxHeight, ...(limits.maxArea !== undefined ? { maxArea: limits.maxArea } : {}) };
}

/** 401: the request asks more than anyone may see without authorisation (the probe says how to get it). */
export class AccessDeniedError extends IiifError {
  constructor(message: string) {
    super(401, message);
    this.name = 'AccessDeniedError';
  }
}

/**
 * Resolves a request against a degraded view: `max` becomes the degraded size; anything larger is
 * refused with 401 (a malformed or impossible request stays a 400, as it would be authorised).
 */
export function resolveDegraded(parsed: ParsedImageRequest, image: Dimensions, maxSize: number, limits: SizeLimits): ImageRequest {
  const full = resolveRequest(parsed, image, limits);
  const tight = degradedLimits(image, resolveRegion(parsed.region, image), maxSize, limits);
  try {
    return resolveRequest(parsed, image, tight);
  } catch (error) {
    if (!(error instanceof IiifError) || error.status !== 400) throw error;
    throw new AccessDeniedError(
      `${full.size.width}×${full.size.height} of region ${full.region.width}×${full.region.height} is finer than this image is shown without authorisation (${maxSize} px on its longest side); at most ${tight.maxWidth}×${tight.maxHeight} for that region`,
    );
  }
}

/** info.json of a degraded view: the sizes and tile levels it allows, and its limits. */
export function degradedDescription(image: ImageDescription, maxSize: number): ImageDescription {
  const scale = degradedScale(image, maxSize);
  const fits = (s: Dimensions): boolean => s.width <= Math.ceil(image.width * scale - 1e-9) && s.height <= Math.ceil(image.height * scale - 1e-9);
  const sizes = image.sizes.filter(fits);
  if (sizes.length === 0 || !sizes.some((s) => Math.max(s.width, s.height) === Math.min(maxSize, Math.max(image.width, image.height)))) {
    sizes.push({ width: Math.max(1, Math.round(image.width * scale)), height: Math.max(1, Math.round(image.height * scale)) });
  }
  return { ...image, sizes, scaleFactors: image.scaleFactors.filter((f) => 1 / f <= scale + 1e-9) };
}
