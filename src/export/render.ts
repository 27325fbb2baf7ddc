import { parseImageRequest } from '../image-api/grammar.js';
import type { ApiVersion, ImageRequest } from '../image-api/request.js';
import { resolveRequest } from '../image-api/resolve.js';
import { render } from '../imaging/executor.js';
import { readStoredTile } from '../imaging/passthrough.js';
import { planRequest } from '../imaging/plan.js';
import type { ImageSource } from '../imaging/source.js';
import type { ImageService } from '../server/image-service.js';

/**
 * `{region}/{size}` of an image, resolved as the server resolves the same URL: the copy's limits are
 * none (level 0 claims no maxWidth/maxArea, so `max` is the whole image).
 */
export function requestOf(version: ApiVersion, regionAndSize: string, source: ImageSource): ImageRequest {
  const [region, size] = regionAndSize.split('/') as [string, string];
  return resolveRequest(parseImageRequest(version, region, size, '0', 'default.jpg'), source.info, {});
}

/** A key equal for requests that give the same bytes (a 3.0 and a 2.1 URL often name the same tile). */
export const requestKey = (r: ImageRequest): string => `${r.region.x},${r.region.y},${r.region.width},${r.region.height}/${r.size.width},${r.size.height}`;

/**
 * The bytes the server sends for a request: the stored JPEG tile when it answers it exactly (no
 * re-encoding), else the same render the image route runs, with the server's encoder settings.
 */
export async function renderRequest(images: ImageService, source: ImageSource, request: ImageRequest): Promise<Buffer> {
  const plan = planRequest(source, request, images.native, images.jp2.decodesArea);
  const stored = plan.stored && (await readStoredTile(source, plan.stored, images.native).catch(() => undefined));
  return stored ?? render(source, request, images.render, images.native, images.jp2, plan.geometry);
}
