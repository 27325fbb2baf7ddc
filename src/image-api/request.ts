/**
 * The version-neutral Image API request model.
 *
 * Both URL grammars (2.1 and 3.0) parse into a `ParsedImageRequest` (what the client asked, still
 * relative to an image it has not seen), which `resolveRequest` turns into an `ImageRequest`:
 * absolute source pixels and output size. Canonical URLs, cache keys and execution all use the
 * resolved form.
 */
export type ApiVersion = 2 | 3;

export const QUALITIES = ['default', 'color', 'gray', 'bitonal'] as const;
export type Quality = (typeof QUALITIES)[number];

export const FORMATS = ['jpg', 'png', 'webp', 'tif', 'gif'] as const;
export type Format = (typeof FORMATS)[number];

export const MEDIA_TYPES: Readonly<Record<Format, string>> = {
  jpg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  tif: 'image/tiff',
  gif: 'image/gif',
};

export type RegionSpec =
  | { readonly kind: 'full' }
  | { readonly kind: 'square' }
  | { readonly kind: 'px' | 'pct'; readonly x: number; readonly y: number; readonly w: number; readonly h: number };

export type SizeSpec = { readonly upscale: boolean } & (
  | { readonly kind: 'max' }
  /** 2.1 `full`: the region at its own size. */
  | { readonly kind: 'full' }
  | { readonly kind: 'w'; readonly w: number }
  | { readonly kind: 'h'; readonly h: number }
  | { readonly kind: 'pct'; readonly pct: number }
  | { readonly kind: 'wh'; readonly w: number; readonly h: number }
  | { readonly kind: 'confined'; readonly w: number; readonly h: number }
);

export interface ParsedImageRequest {
  readonly version: ApiVersion;
  readonly region: RegionSpec;
  readonly size: SizeSpec;
  readonly mirror: boolean;
  readonly rotation: number;
  readonly quality: Quality;
  readonly format: Format;
}

export interface Rect {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

export interface Dimensions {
  readonly width: number;
  readonly height: number;
}

/** Server-imposed output limits (Image API maxWidth/maxHeight/maxArea). */
export interface SizeLimits {
  readonly maxWidth?: number | undefined;
  readonly maxHeight?: number | undefined;
  readonly maxArea?: number | undefined;
}

/** A request resolved against a real image: what to cut, how big to make it, how to turn and encode it. */
export interface ImageRequest {
  /** Region in full-resolution source pixels, clipped to the image. */
  readonly region: Rect;
  /** Output size before rotation. */
  readonly size: Dimensions;
  readonly mirror: boolean;
  readonly rotation: number;
  readonly quality: Quality;
  readonly format: Format;
}
