import { CONTEXTS } from '../image-api/info.js';
import type { ApiVersion } from '../image-api/request.js';
import type { Level0Layout } from './level0.js';

export const LEVEL0_PROFILE: Readonly<Record<ApiVersion, string>> = {
  2: 'http://iiif.io/api/image/2/level0.json',
  3: 'level0',
};

/**
 * The info.json of a static copy: level 0, and exactly the sizes and tiles written beside it. No
 * limits and no extra features, formats or qualities: a static host answers nothing else.
 */
export function level0Info(version: ApiVersion, id: string, layout: Level0Layout): Record<string, unknown> {
  const sizes = layout.sizes[version].map(({ width, height }) => ({ width, height }));
  const tiles = [{ width: layout.tile.width, height: layout.tile.height, scaleFactors: [...layout.scaleFactors] }];
  if (version === 3) {
    return {
      '@context': CONTEXTS[3],
      id,
      type: 'ImageService3',
      protocol: 'http://iiif.io/api/image',
      profile: LEVEL0_PROFILE[3],
      width: layout.width,
      height: layout.height,
      sizes,
      tiles,
    };
  }
  return {
    '@context': CONTEXTS[2],
    '@id': id,
    protocol: 'http://iiif.io/api/image',
    width: layout.width,
    height: layout.height,
    sizes,
    tiles,
    profile: [LEVEL0_PROFILE[2]],
  };
}
