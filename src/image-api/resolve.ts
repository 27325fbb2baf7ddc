import { badRequest } from './errors.js';
import type { Dimensions, ImageRequest, ParsedImageRequest, Rect, RegionSpec, SizeLimits, SizeSpec } from './request.js';

/** Region in source pixels, clipped to the image; 400 when empty or outside. */
export function resolveRegion(spec: RegionSpec, image: Dimensions, raw = describeRegion(spec)): Rect {
  const { width: W, height: H } = image;
  let x: number, y: number, w: number, h: number;
  switch (spec.kind) {
    case 'full':
      return { x: 0, y: 0, width: W, height: H };
    case 'square': {
      const side = Math.min(W, H);
      return { x: Math.floor((W - side) / 2), y: Math.floor((H - side) / 2), width: side, height: side };
    }
    case 'px':
      ({ x, y, w, h } = spec);
      break;
    case 'pct':
      x = Math.round((spec.x * W) / 100);
      y = Math.round((spec.y * H) / 100);
      w = Math.round((spec.w * W) / 100);
      h = Math.round((spec.h * H) / 100);
      break;
  }
  if (x >= W || y >= H) throw badRequest(`region '${raw}': lies outside the image (${W}×${H})`);
  w = Math.min(w, W - x);
  h = Math.min(h, H - y);
  if (w < 1 || h < 1) throw badRequest(`region '${raw}': is less than one pixel`);
  return { x, y, width: w, height: h };
}

function describeRegion(spec: RegionSpec): string {
  if (spec.kind === 'full' || spec.kind === 'square') return spec.kind;
  return `${spec.kind === 'pct' ? 'pct:' : ''}${spec.x},${spec.y},${spec.w},${spec.h}`;
}

/** The largest size of `region` (keeping its aspect ratio) that fits the limits, upscaling when allowed. */
export function maxSize(region: Dimensions, limits: SizeLimits, upscale: boolean): Dimensions {
  const { maxWidth, maxHeight = maxWidth, maxArea } = limits;
  let scale = upscale ? Infinity : 1;
  if (maxWidth !== undefined) scale = Math.min(scale, maxWidth / region.width);
  if (maxHeight !== undefined) scale = Math.min(scale, maxHeight / region.height);
  if (maxArea !== undefined) scale = Math.min(scale, Math.sqrt(maxArea / (region.width * region.height)));
  if (!Number.isFinite(scale)) scale = 1;
  if (scale === 1) return { width: region.width, height: region.height };
  // The epsilon keeps a product that should be a whole number (3319 × (6994 / 3319)) from flooring
  // to one less; a real fraction is at least 1/width away from the next integer.
  let width = Math.max(1, Math.floor(region.width * scale + 1e-9));
  let height = Math.max(1, Math.floor(region.height * scale + 1e-9));
  // Rounding may leave the area a hair over the limit.
  if (maxArea !== undefined && width * height > maxArea) {
    width = Math.max(1, width - 1);
    height = Math.max(1, Math.floor((region.height * width) / region.width));
  }
  return { width, height };
}

function scaledSize(spec: SizeSpec, region: Dimensions, limits: SizeLimits): Dimensions {
  const { width: rw, height: rh } = region;
  switch (spec.kind) {
    case 'max':
      return maxSize(region, limits, spec.upscale);
    case 'full':
      return { width: rw, height: rh };
    case 'w':
      return { width: spec.w, height: Math.round((rh * spec.w) / rw) };
    case 'h':
      return { width: Math.round((rw * spec.h) / rh), height: spec.h };
    case 'pct':
      return { width: Math.round((rw * spec.pct) / 100), height: Math.round((rh * spec.pct) / 100) };
    case 'wh':
      return { width: spec.w, height: spec.h };
    case 'confined':
      // The largest size inside w×h that keeps the aspect ratio. Without '^' in 3.0 a result larger
      // than the region is an error like any other upscaling (as the official validator expects).
      if (spec.w / rw <= spec.h / rh) return { width: spec.w, height: Math.max(1, Math.round((rh * spec.w) / rw)) };
      return { width: Math.max(1, Math.round((rw * spec.h) / rh)), height: spec.h };
  }
}

export function describeSize(spec: SizeSpec, version: 2 | 3): string {
  const prefix = spec.upscale && version === 3 ? '^' : '';
  switch (spec.kind) {
    case 'max':
    case 'full':
      return prefix + spec.kind;
    case 'w':
      return `${prefix}${spec.w},`;
    case 'h':
      return `${prefix},${spec.h}`;
    case 'pct':
      return `${prefix}pct:${spec.pct}`;
    case 'wh':
      return `${prefix}${spec.w},${spec.h}`;
    case 'confined':
      return `${prefix}!${spec.w},${spec.h}`;
  }
}

/** Resolves a parsed request against an image's dimensions and the server's limits. */
export function resolveRequest(parsed: ParsedImageRequest, image: Dimensions, limits: SizeLimits): ImageRequest {
  const region = resolveRegion(parsed.region, image);
  const size = scaledSize(parsed.size, region, limits);
  const raw = describeSize(parsed.size, parsed.version);
  if (size.width < 1 || size.height < 1) throw badRequest(`size '${raw}': the result is less than one pixel`);
  if (!parsed.size.upscale && (size.width > region.width || size.height > region.height)) {
    throw badRequest(
      `size '${raw}': ${size.width}×${size.height} is larger than the region (${region.width}×${region.height}); prefix it with '^' to upscale`,
    );
  }
  const { maxWidth, maxHeight = maxWidth, maxArea } = limits;
  if (maxWidth !== undefined && size.width > maxWidth) {
    throw badRequest(`size '${raw}': width ${size.width} exceeds maxWidth ${maxWidth}`);
  }
  if (maxHeight !== undefined && size.height > maxHeight) {
    throw badRequest(`size '${raw}': height ${size.height} exceeds maxHeight ${maxHeight}`);
  }
  if (maxArea !== undefined && size.width * size.height > maxArea) {
    throw badRequest(`size '${raw}': ${size.width}×${size.height} exceeds maxArea ${maxArea}`);
  }
  return {
    region,
    size,
    mirror: parsed.mirror,
    rotation: parsed.rotation,
    quality: parsed.quality,
    format: parsed.format,
  };
}
