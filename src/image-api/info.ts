import { FORMATS, QUALITIES, type ApiVersion, type Dimensions, type SizeLimits } from './request.js';

/** What info.json needs to know about an image, whatever its format. */
export interface ImageDescription extends Dimensions {
  readonly tile: Dimensions;
  /** Downsampling factors of the stored resolution levels (1 first). */
  readonly scaleFactors: readonly number[];
  /** Sizes that can be served cheaply (the pyramid levels), largest first or in any order. */
  readonly sizes: readonly Dimensions[];
}

export const CONTEXTS: Readonly<Record<ApiVersion, string>> = {
  2: 'http://iiif.io/api/image/2/context.json',
  3: 'http://iiif.io/api/image/3/context.json',
};

export const PROFILE_URIS: Readonly<Record<ApiVersion, string>> = {
  2: 'http://iiif.io/api/image/2/level2.json',
  3: 'http://iiif.io/api/image/3/level2.json',
};

/** Features beyond level 2 (3.0 extraFeatures): everything level 2 has, listed, plus the extras. */
const FEATURES_3 = [
  'baseUriRedirect',
  'canonicalLinkHeader',
  'cors',
  'jsonldMediaType',
  'mirroring',
  'profileLinkHeader',
  'regionByPct',
  'regionByPx',
  'regionSquare',
  'rotationArbitrary',
  'rotationBy90s',
  'sizeByConfinedWh',
  'sizeByH',
  'sizeByPct',
  'sizeByW',
  'sizeByWh',
  'sizeUpscaling',
] as const;

const FEATURES_2 = [
  'baseUriRedirect',
  'canonicalLinkHeader',
  'cors',
  'jsonldMediaType',
  'mirroring',
  'profileLinkHeader',
  'regionByPct',
  'regionByPx',
  'regionSquare',
  'rotationArbitrary',
  'rotationBy90s',
  'sizeAboveFull',
  'sizeByConfinedWh',
  'sizeByDistortedWh',
  'sizeByH',
  'sizeByPct',
  'sizeByW',
  'sizeByWh',
] as const;

function withinLimits(size: Dimensions, limits: SizeLimits): boolean {
  const { maxWidth, maxHeight = maxWidth, maxArea } = limits;
  return (
    (maxWidth === undefined || size.width <= maxWidth) &&
    (maxHeight === undefined || size.height <= maxHeight) &&
    (maxArea === undefined || size.width * size.height <= maxArea)
  );
}

function limitProperties(limits: SizeLimits): Record<string, number> {
  const out: Record<string, number> = {};
  if (limits.maxWidth !== undefined) out.maxWidth = limits.maxWidth;
  if (limits.maxHeight !== undefined) out.maxHeight = limits.maxHeight;
  if (limits.maxArea !== undefined) out.maxArea = limits.maxArea;
  return out;
}

function sizesOf(image: ImageDescription, limits: SizeLimits): Dimensions[] {
  return [...image.sizes]
    .filter((s) => withinLimits(s, limits))
    .sort((a, b) => a.width - b.width)
    .map(({ width, height }) => ({ width, height }));
}

/** Scale factors whose tiles fit the limits (a tile request's output is at most one tile). */
function tilesOf(image: ImageDescription, limits: SizeLimits): Array<Record<string, unknown>> {
  if (!withinLimits(image.tile, limits) || image.scaleFactors.length === 0) return [];
  return [{ width: image.tile.width, height: image.tile.height, scaleFactors: [...image.scaleFactors] }];
}

/** Services attached to an image service (Auth 2.0 probes), one hook per version: see src/auth/services.ts. */
export type ServiceBlocks = readonly Record<string, unknown>[];

export function infoJson3(id: string, image: ImageDescription, limits: SizeLimits, services: ServiceBlocks = []): Record<string, unknown> {
  return {
    '@context': CONTEXTS[3],
    id,
    type: 'ImageService3',
    protocol: 'http://iiif.io/api/image',
    profile: 'level2',
    width: image.width,
    height: image.height,
    ...limitProperties(limits),
    sizes: sizesOf(image, limits),
    tiles: tilesOf(image, limits),
    preferredFormats: ['jpg'],
    extraFormats: FORMATS.filter((f) => f !== 'jpg' && f !== 'png'),
    extraQualities: QUALITIES.filter((q) => q !== 'default'),
    extraFeatures: [...FEATURES_3],
    ...(services.length > 0 ? { service: [...services] } : {}),
  };
}

export function infoJson2(id: string, image: ImageDescription, limits: SizeLimits, services: ServiceBlocks = []): Record<string, unknown> {
  return {
    '@context': CONTEXTS[2],
    '@id': id,
    protocol: 'http://iiif.io/api/image',
    width: image.width,
    height: image.height,
    sizes: sizesOf(image, limits),
    tiles: tilesOf(image, limits),
    profile: [
      PROFILE_URIS[2],
      {
        formats: [...FORMATS],
        qualities: [...QUALITIES],
        supports: [...FEATURES_2],
        ...limitProperties(limits),
      },
    ],
    ...(services.length > 0 ? { service: [...services] } : {}),
  };
}
