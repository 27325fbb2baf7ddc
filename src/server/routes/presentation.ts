import compress from '@fastify/compress';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { IiifError, notFound } from '../../image-api/errors.js';
import type { SizeLimits } from '../../image-api/request.js';
import { collection2, collection3 } from '../../presentation/collections.js';
import { manifest2 } from '../../presentation/manifest-v2.js';
import { manifest3 } from '../../presentation/manifest-v3.js';
import type { PresentationStore } from '../../presentation/store.js';
import { collectionPathOf, PresentationUrls } from '../../presentation/urls.js';
import { archiveServices } from '../../search/links.js';
import type { SearchStore } from '../../search/store.js';
import type { PublicBaseUrl } from '../base-url.js';
import { addVary, etagFor, notModified } from '../http-cache.js';
import { presentationVariant } from '../negotiation.js';
import { LRUCache } from 'lru-cache';
import { answerErrorsAsText, pathAfter } from './json-routes.js';

export interface PresentationOptions {
  /** The data folder's catalog; undefined when serving a plain images folder (no manifests then). */
  readonly store: PresentationStore | undefined;
  /** The OCR text index beside the catalog: objects with text get search services and text links. */
  readonly search?: SearchStore | undefined;
  readonly publicUrl: PublicBaseUrl;
  readonly limits: SizeLimits;
  /** Told of every manifest cache lookup (metrics). */
  readonly onCacheLookup?: ((hit: boolean) => void) | undefined;
}

/**
 * Manifests change whenever the folder is converted again: caches may keep them but must
 * revalidate (a 304 costs a catalog read, no image).
 */
const CACHE_CONTROL = 'public, no-cache';


/**
 * IIIF Presentation API: a manifest per object and the folder hierarchy as collections, 3.0 by
 * default and 2.1 on request (an Accept profile, or the /iiif/presentation/2/ paths). Built from
 * the catalog on each request, so a new conversion shows without a restart.
 *
 *   /iiif/manifest/{object id}                   3.0 (or 2.1 by Accept profile)
 *   /iiif/collection/top, /iiif/collection/{path}
 *   /iiif/presentation/2/manifest/{object id}    2.1
 *   /iiif/presentation/2/collection/top, …/{path}
 */
export async function presentationRoutes(app: FastifyInstance, options: PresentationOptions): Promise<void> {
  // Encapsulated in this plugin: JSON is compressed, image responses (other plugins) never are.
  await app.register(compress, { global: true, encodings: ['br', 'gzip', 'deflate'], threshold: 1024 });

  const urlsFor = (request: FastifyRequest, reply: FastifyReply): PresentationUrls => new PresentationUrls(options.publicUrl.of(request, reply));
  const requireStore = (): PresentationStore => {
    if (!options.store) throw notFound('manifests are served for a converted data folder: start with --data DIR (the output of vitrine convert)');
    return options.store;
  };

  // Serialised documents with their ETags, by catalog version: a 1,000-page manifest takes ~40 ms
  // to build, stringify and hash, and viewers ask for the same one again and again.
  const documents = new LRUCache<string, { text: string; etag: string }>({ maxSize: 64 << 20, sizeCalculation: (d) => d.text.length + 64 });

  function send(request: FastifyRequest, reply: FastifyReply, body: () => unknown, contentType: string, modified: Date, cacheKey?: string): void {
    let document = cacheKey === undefined ? undefined : documents.get(cacheKey);
    if (cacheKey !== undefined) options.onCacheLookup?.(document !== undefined);
    if (!document) {
      const text = JSON.stringify(body());
      document = { text, etag: etagFor(text, contentType) };
      if (cacheKey !== undefined) documents.set(cacheKey, document);
    }
    addVary(reply, 'Accept');
    if (notModified(request, reply, document.etag, modified, CACHE_CONTROL)) return;
    reply.type(contentType).send(document.text);
  }

  async function manifest(request: FastifyRequest, reply: FastifyReply, prefix: string, fixed?: 2 | 3): Promise<void> {
    const id = pathAfter(request, prefix);
    if (id === '') throw notFound('no object id given: /iiif/manifest/{object id}');
    const store = requireStore();
    const found = await store.manifestSource(id);
    if (!found) {
      // A known object taken out of the catalog: Gone, so harvesters and caches drop it for good.
      if (await store.isWithdrawn(id)) throw new IiifError(410, `object '${id}' was withdrawn`);
      throw notFound(`no object '${id}' with pages in the catalog`);
    }
    const text = options.search?.index()?.objectPages(id);
    const source = text && text.size > 0 ? { ...found.source, text } : found.source;
    const { version, contentType } = presentationVariant(request.headers.accept, fixed);
    const build = { urls: urlsFor(request, reply), limits: options.limits };
    // Everything the bytes depend on: plain `application/json` names no version, so the version is in the key.
    const key = `${found.version}\0${build.urls.base}\0${version}\0${contentType}\0${id}`;
    send(request, reply, () => (version === 3 ? manifest3(source, build) : manifest2(source, build)), contentType, found.modified, key);
  }

  async function collection(request: FastifyRequest, reply: FastifyReply, prefix: string, fixed?: 2 | 3): Promise<void> {
    const path = collectionPathOf(pathAfter(request, prefix));
    const found = await requireStore().tree();
    if (!found) throw notFound('the data folder has no catalog yet: run vitrine convert');
    const node = found.tree.nodes.get(path);
    if (!node || node.children.size === 0 && path !== '') throw notFound(`no collection '${path}'`);
    const { version, contentType } = presentationVariant(request.headers.accept, fixed);
    const urls = urlsFor(request, reply);
    // The top collection declares the search over every object once some page has text.
    const search = path === '' && options.search?.index()?.hasText() ? archiveServices(urls.base, version) : [];
    send(request, reply, () => (version === 3 ? collection3(found.tree, node, urls, search) : collection2(node, urls, search)), contentType, found.modified);
  }

  app.get('/iiif/manifest/*', async (request, reply) => {
    await manifest(request, reply, '/iiif/manifest/');
    return reply;
  });
  app.get('/iiif/presentation/2/manifest/*', async (request, reply) => {
    await manifest(request, reply, '/iiif/presentation/2/manifest/', 2);
    return reply;
  });
  app.get('/iiif/presentation/3/manifest/*', async (request, reply) => {
    await manifest(request, reply, '/iiif/presentation/3/manifest/', 3);
    return reply;
  });
  app.get('/iiif/collection/*', async (request, reply) => {
    await collection(request, reply, '/iiif/collection/');
    return reply;
  });
  app.get('/iiif/presentation/2/collection/*', async (request, reply) => {
    await collection(request, reply, '/iiif/presentation/2/collection/', 2);
    return reply;
  });
  app.get('/iiif/presentation/3/collection/*', async (request, reply) => {
    await collection(request, reply, '/iiif/presentation/3/collection/', 3);
    return reply;
  });

  answerErrorsAsText(app);
}
