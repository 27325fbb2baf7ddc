import compress from '@fastify/compress';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Dimensions } from '../../image-api/request.js';
import type { PresentationStore } from '../../presentation/store.js';
import type { WebAssets } from '../../web/assets.js';
import { CardMaker } from '../../web/cards.js';
import { catalogPage } from '../../web/catalog-view.js';
import { html } from '../../web/html.js';
import { imagesPage } from '../../web/images-view.js';
import { messagePage } from '../../web/message-page.js';
import type { Rendered } from '../../web/rendered.js';
import type { SearchStore } from '../../search/store.js';
import { textSearchPage } from '../../web/text-search-view.js';
import type { PublicBaseUrl } from '../base-url.js';

export interface HomeOptions {
  /** The data folder's catalog; undefined when serving a plain images folder. */
  readonly store: PresentationStore | undefined;
  /** The folder the Image API serves, listed when there is no catalog. */
  readonly imagesDir: string;
  /** The size of an image of that folder (undefined when it cannot be read), for its thumbnail. */
  readonly imageSize: (identifier: string) => Promise<Dimensions | undefined>;
  readonly publicUrl: PublicBaseUrl;
  readonly assets: WebAssets | undefined;
  /** The OCR text index beside the catalog: the full-text search page reads it. */
  readonly search?: SearchStore | undefined;
}

/** `?q=` (a search) and `?page=` (1-based), tolerant of anything else. */
function listingQuery(request: FastifyRequest): { query: string; page: number } {
  const { q, page } = request.query as { q?: unknown; page?: unknown };
  return {
    query: (typeof q === 'string' ? q : '').trim().slice(0, 200),
    page: Number.parseInt(typeof page === 'string' ? page : '1', 10) || 1,
  };
}

/** A collection path from the raw URL: segments are percent-encoded, and a name may itself contain '%'. */
function browsePath(request: FastifyRequest): string | undefined {
  const url = request.raw.url ?? request.url;
  try {
    return decodeURIComponent(url.split('?')[0]!.slice('/browse/'.length)).replace(/^\/+|\/+$/g, '');
  } catch {
    return undefined;
  }
}

/**
 * The home page: the top collection, then sub-collections at /browse/<folder path>, each object
 * with its picture, label, page count and links to the viewers; a search over every object's
 * label, and /search over the text of every page (OCR). Server-rendered HTML (works without JavaScript); a small script filters as one types.
 * With a plain images folder (no catalog), the images, each with a link to the deep-zoom viewer.
 */
export async function homeRoutes(app: FastifyInstance, options: HomeOptions): Promise<void> {
  await app.register(compress, { global: true, encodings: ['br', 'gzip', 'deflate'], threshold: 1024 });
  const cards = options.store ? new CardMaker(options.store) : undefined;
  const assets = options.assets?.page('home');

  const send = (reply: FastifyReply, rendered: Rendered): FastifyReply =>
    reply.code(rendered.status).header('Cache-Control', 'no-cache').type('text/html; charset=utf-8').send(rendered.page.value);

  app.get('/', async (request, reply) => {
    const base = options.publicUrl.of(request, reply);
    const { query, page } = listingQuery(request);
    const textSearch = options.search?.index()?.hasText() ?? false;
    if (options.store) return send(reply, await catalogPage({ store: options.store, cards: cards!, base, assets, path: '', query, page, textSearch }));
    return send(reply, await imagesPage({ imagesDir: options.imagesDir, base, assets, query, page, sizeOf: options.imageSize }));
  });

  app.get('/browse/*', async (request, reply) => {
    const base = options.publicUrl.of(request, reply);
    const path = browsePath(request);
    const notFound = (what: string): Rendered => ({ status: 404, page: messagePage({ base, assets, title: 'Not found', body: html`<p>${what}</p>` }) });
    if (!options.store) return send(reply, notFound('Collections are shown for a converted data folder (vitrine serve --data DIR).'));
    if (path === undefined) return send(reply, notFound('That is not a valid collection path.'));
    // Searching is from the home page; a collection's page lists the collection.
    const textSearch = options.search?.index()?.hasText() ?? false;
    return send(reply, await catalogPage({ store: options.store, cards: cards!, base, assets, path, query: '', page: listingQuery(request).page, textSearch }));
  });

  // The full-text search over every object's OCR text (the Content Search index).
  app.get('/search', async (request, reply) => {
    const base = options.publicUrl.of(request, reply);
    if (!options.store) {
      return send(reply, { status: 404, page: messagePage({ base, assets, title: 'Not found', body: html`<p>Text search is served for a converted data folder (vitrine serve --data DIR).</p>` }) });
    }
    const { query, page } = listingQuery(request);
    return send(reply, await textSearchPage({ store: options.store, index: options.search?.index(), base, assets, query, page }));
  });
}
