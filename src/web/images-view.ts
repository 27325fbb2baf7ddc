import type { Dimensions } from '../image-api/request.js';
import type { PageAssets } from './assets.js';
import { imageCard } from './cards.js';
import { PAGE_SIZE } from './catalog-view.js';
import { homePage } from './home-page.js';
import { html } from './html.js';
import { listImageFiles } from './image-files.js';
import { WebLinks } from './links.js';
import { paginate } from './listing.js';
import type { Rendered } from './rendered.js';
import { foldText, plural } from './text.js';

/** Files listed at most from a plain images folder. */
const IMAGE_LIMIT = 5000;

export interface ImagesRequest {
  readonly imagesDir: string;
  readonly base: string;
  readonly assets: PageAssets | undefined;
  /** Words the file's path must contain, or ''. */
  readonly query: string;
  readonly page: number;
  /** An image's size, read from its header (undefined when it cannot be read). */
  readonly sizeOf: (identifier: string) => Promise<Dimensions | undefined>;
}

/** The home page of a plain images folder (`--images`): its files, each with a deep-zoom link. */
export async function imagesPage(request: ImagesRequest): Promise<Rendered> {
  const { base, query } = request;
  const links = new WebLinks(base);
  const files = await listImageFiles(request.imagesDir, IMAGE_LIMIT);
  const words = foldText(query).split(/\s+/).filter(Boolean);
  const matching = files.identifiers.filter((id) => words.every((w) => foldText(id).includes(w)));
  const shown = paginate(matching, request.page, PAGE_SIZE);
  const notice = html`<p class="notice">This server shows a folder of images (<code>--images</code>), without collections or manifests. To browse objects and open them in Mirador or Universal Viewer, convert the masters with <code>vitrine convert</code> and serve the result with <code>--data</code>.${files.truncated ? ` Only the first ${IMAGE_LIMIT} images are listed.` : ''}</p>`;
  const summary =
    matching.length === 0 ? (query ? `No image's name contains “${query}”.` : 'The folder has no images.') : `${plural(matching.length, 'image')}; open one in the deep-zoom viewer (OpenSeadragon).`;
  const page = homePage({
    base,
    assets: request.assets,
    heading: query ? `Images matching “${query}”` : 'Images',
    breadcrumb: query ? [{ label: 'Images', href: links.home() }, { label: `Search: ${query}`, href: undefined }] : [],
    query,
    searchLabel: 'Search images by name',
    summary,
    notice,
    cards: await Promise.all(shown.items.map(async (id) => imageCard(id, base, await request.sizeOf(id)))),
    pagination: { page: shown.page, pages: shown.pages, href: (n) => links.home({ q: query, page: n }) },
  });
  return { status: 200, page };
}
