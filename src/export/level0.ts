import type { ApiVersion, Dimensions } from '../image-api/request.js';
import type { ImageDescription } from '../image-api/info.js';

/**
 * What a level-0 copy of one image holds: the tile grid and the scaled sizes it declares, and the
 * exact image URLs (`{region}/{size}` after the identifier) a viewer builds from that declaration.
 * A static host can answer nothing else, so info.json and the files written come from this one value.
 */
export interface Level0Layout {
  readonly width: number;
  readonly height: number;
  readonly tile: Dimensions;
  /** Powers of two, 1 first: the stored resolution levels and the halvings down to one tile. */
  readonly scaleFactors: readonly number[];
  /** `sizes` of info.json, smallest first: the image at each scale factor but 1 (`full/max` is the whole image). */
  readonly sizes: Readonly<Record<ApiVersion, readonly Dimensions[]>>;
  /** Every `{region}/{size}` the export writes, per version, without duplicates. */
  readonly paths: Readonly<Record<ApiVersion, readonly string[]>>;
}

/**
 * The size of the image at scale factor `f`, rounded up as the Image API's tile arithmetic does
 * (an edge tile is ceil(remaining / f) wide), so the sizes and the last tile of each row agree.
 */
export const scaledBy = (image: Dimensions, f: number): Dimensions => ({ width: Math.ceil(image.width / f), height: Math.ceil(image.height / f) });

/** The height a 2.1 `w,` request gives for a region (the server keeps the aspect ratio, rounded). */
const heightForWidth = (region: Dimensions, width: number): number => Math.round((region.height * width) / region.width);

/**
 * The `{region}/{size}` of tile (x, y) at scale factor f, as OpenSeadragon (Mirador's tile engine)
 * and the Image API's tile notes build it: region x·tw·f, y·th·f, clipped to the image, `full` when
 * it is the whole image; size the tile's pixels at that scale, `max` (3.0) or `full` (2.1) when that
 * is the whole image unscaled, else `w,h` (3.0) or `w,` (2.1).
 */
function tilePath(image: Dimensions, tile: Dimensions, f: number, x: number, y: number, version: ApiVersion): string {
  const level = scaledBy(image, f);
  // A level smaller than one tile is asked for whole, by its size.
  if (level.width < tile.width && level.height < tile.height) return fullPath(image, level, version);
  const rx = x * tile.width * f;
  const ry = y * tile.height * f;
  const rw = Math.min(tile.width * f, image.width - rx);
  const rh = Math.min(tile.height * f, image.height - ry);
  const region = rx === 0 && ry === 0 && rw === image.width && rh === image.height ? 'full' : `${rx},${ry},${rw},${rh}`;
  const sw = Math.min(tile.width, level.width - x * tile.width);
  const sh = Math.min(tile.height, level.height - y * tile.height);
  return `${region}/${sizePart(image, { width: sw, height: sh }, version)}`;
}

function sizePart(image: Dimensions, size: Dimensions, version: ApiVersion): string {
  if (version === 3) return size.width === image.width && size.height === image.height ? 'max' : `${size.width},${size.height}`;
  return size.width === image.width ? 'full' : `${size.width},`;
}

/** `full/{size}` of the whole image at `size`. */
const fullPath = (image: Dimensions, size: Dimensions, version: ApiVersion): string => `full/${sizePart(image, size, version)}`;

export function level0Layout(description: ImageDescription): Level0Layout {
  const image = { width: description.width, height: description.height };
  const { tile } = description;
  const scaleFactors = [...new Set(description.scaleFactors)].sort((a, b) => a - b);
  const scaled = scaleFactors.filter((f) => f > 1).map((f) => scaledBy(image, f));
  const sizes3 = [...scaled].sort((a, b) => a.width - b.width);
  // 2.1 asks for a size as `w,`: declare the height the image then really has.
  const sizes2 = sizes3.map((s) => ({ width: s.width, height: heightForWidth(image, s.width) }));
  const paths = { 2: new Set<string>(), 3: new Set<string>() };
  for (const version of [3, 2] as const) {
    const out = paths[version];
    // Level 0 requires the whole image at full size (the validator's first request).
    out.add(fullPath(image, image, version));
    for (const size of sizes3) out.add(fullPath(image, size, version));
    for (const f of scaleFactors) {
      const level = scaledBy(image, f);
      const columns = Math.ceil(level.width / tile.width);
      const rows = Math.ceil(level.height / tile.height);
      for (let y = 0; y < rows; y++) for (let x = 0; x < columns; x++) out.add(tilePath(image, tile, f, x, y, version));
    }
  }
  return {
    ...image,
    tile: { width: tile.width, height: tile.height },
    scaleFactors,
    sizes: { 2: sizes2, 3: sizes3 },
    paths: { 2: [...paths[2]], 3: [...paths[3]] },
  };
}
