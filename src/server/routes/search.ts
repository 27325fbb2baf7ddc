import compress from '@fastify/compress';
import { readFile } from 'node:fs/promises';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { badRequest, notFound } from '../../image-api/errors.js';
import type { PresentationStore } from '../../presentation/store.js';
import { PresentationUrls } from '../../presentation/urls.js';
import { ARCHIVE_PAGES_PER_RESULT, archiveRange, archiveResultPage, hitRange, HITS_PER_PAGE, resultPage } from '../../search/results.js';
import type { SearchIndex } from '../../search/search-index.js';
import { SIDECAR_MEDIA_TYPES } from '../../search/sidecar.js';
import type { SearchStore } from '../../search/store.js';
import { textList2, textPage3 } from '../../search/text-annotations.js';
import { parseQuery, tokens } from '../../search/tokens.js';
import { SearchUrls, type SearchVersion } from '../../search/urls.js';
import { autocompleteResponse1, searchResponse1 } from '../../search/v1.js';
import { autocompleteResponse2, searchResponse2 } from '../../search/v2.js';
import type { PublicBaseUrl } from '../base-url.js';
import { answerErrorsAsText, pathAfter } from './json-routes.js';

export interface SearchOptions {
  readonly store: PresentationStore | undefined;
  readonly search: SearchStore | undefined;
  readonly publicUrl: PublicBaseUrl;
}

/** Longest `q` accepted, in characters: a query longer than a paragraph is a mistake or an attack. */
export const MAX_QUERY_LENGTH = 500;
/** Terms an autocomplete answer lists at most. */
const MAX_TERMS = 20;
/** Results change whenever the folder is converted again: caches must revalidate. */
const CACHE_CONTROL = 'public, no-cache';

type Query = Record<string, string | string[] | undefined>;

/** A single-valued parameter; repeated is a client error naming it. */
function single(query: Query, name: string): string | undefined {
  const value = query[name];
  if (Array.isArray(value)) throw badRequest(`${name}: given ${value.length} times; give it once`);
  return value;
}

/** The q parameter, bounded. */
function qOf(query: Query): string | undefined {
  const q = single(query, 'q');
  if (q !== undefined && q.length > MAX_QUERY_LENGTH) throw badRequest(`q: ${q.length} characters; at most ${MAX_QUERY_LENGTH}`);
  return q;
}

/** The page parameter (1-based, default 1). */
function pageOf(query: Query): number {
  const pageText = single(query, 'page') ?? '1';
  if (!/^\d{1,9}$/.test(pageText) || Number(pageText) < 1) throw badRequest(`page: '${pageText}' is not a page number (1, 2, …)`);
  return Number(pageText);
}

/** The request's parameters the service does not apply (the spec's motivation, date, user; and any other), sorted. */
const ignoredOf = (query: Query, applied: readonly string[]): string[] => Object.keys(query).filter((k) => !applied.includes(k)).sort();


/**
 * IIIF Content Search 1.0 and 2.0 over the OCR text the pipeline indexed, per object, with their
 * autocomplete services; and each page's text as annotations and its OCR file (`seeAlso`).
 *
 *   /iiif/search/{1|2}?q=…                             hits in every object, 20 canvases per page
 *   /iiif/search/{1|2}/{object id}?q=…                 hits (phrase in double quotes; else every word)
 *   /iiif/search/{1|2}/{object id}/autocomplete?q=…    terms starting with q, with counts
 *   /iiif/text/{page}, /iiif/presentation/2/text/{page}   the page's lines (3.0 / 2.1)
 *   /iiif/ocr/{page}                                   the ALTO, hOCR or text file
 */
export async function searchRoutes(app: FastifyInstance, options: SearchOptions): Promise<void> {
  await app.register(compress, { global: true, encodings: ['br', 'gzip', 'deflate'], threshold: 1024 });

  const required = (): { store: PresentationStore; index: SearchIndex } => {
    const index = options.search?.index();
    if (!options.store || !index) throw notFound('search is served for a converted data folder: start with --data DIR (the output of vitrine convert)');
    return { store: options.store, index };
  };
  const base = (request: FastifyRequest, reply: FastifyReply): string => options.publicUrl.of(request, reply);
  const sendJson = (reply: FastifyReply, body: unknown): FastifyReply =>
    reply.header('Cache-Control', CACHE_CONTROL).type('application/json; charset=utf-8').send(JSON.stringify(body));

  async function search(request: FastifyRequest, reply: FastifyReply, version: SearchVersion): Promise<FastifyReply> {
    const { store, index } = required();
    const prefix = `/iiif/search/${version}/`;
    let id = pathAfter(request, prefix.slice(0, -1)).replace(/^\//, '');
    if (id === '') return searchArchive(request, reply, version, index);
    // `…/autocomplete` is the autocomplete service of the object before it, unless an object has that very id.
    const autocomplete = id.endsWith('/autocomplete') && !(await store.hasObject(id));
    if (autocomplete) id = id.slice(0, -'/autocomplete'.length);
    if (!(await store.hasObject(id))) throw notFound(`no object '${id}' with pages in the catalog`);
    const query = request.query as Query;
    const urls = new SearchUrls(base(request, reply));
    const service = urls.service(id, version);
    const q = qOf(query);
    if (autocomplete) {
      if (q === undefined) throw badRequest('q: missing; give the first letters of a word (autocomplete?q=bir)');
      const minText = single(query, 'min') ?? '1';
      if (!/^\d{1,9}$/.test(minText)) throw badRequest(`min: '${minText}' is not a whole number`);
      const ignored = ignoredOf(query, ['q', 'min']);
      const parts = tokens(q);
      // One word is completed; a query of several (or of none) has no completion in a word index.
      const terms = parts.length === 1 && !/\s/.test(q.trim()) ? index.autocomplete(id, parts[0]!, { min: Math.max(1, Number(minText)), limit: MAX_TERMS }) : [];
      const self = `${urls.autocomplete(id, version)}?q=${encodeURIComponent(q)}${minText !== '1' ? `&min=${minText}` : ''}`;
      return sendJson(reply, version === 1 ? autocompleteResponse1(self, service, terms, ignored) : autocompleteResponse2(self, terms, ignored));
    }
    const pageText = String(pageOf(query));
    const ignored = ignoredOf(query, ['q', 'page']);
    // No q, or nothing searchable in it: no hits (the spec leaves an empty query to the server).
    const parsed = parseQuery(q ?? '');
    const found = parsed ? index.searchObject(id, parsed, hitRange(Number(pageText))) : { total: 0, hits: [] };
    const results = resultPage(found, q ?? '', Number(pageText), ignored);
    if (!results) throw notFound(`page ${pageText}: the results of '${q ?? ''}' have ${Math.max(1, Math.ceil(found.total / HITS_PER_PAGE))} page(s)`);
    const presentation = new PresentationUrls(urls.base);
    return sendJson(reply, version === 1 ? searchResponse1(service, results, presentation) : searchResponse2(service, results, presentation));
  }

  /** The search over every object: the same hits, paged by canvases (see archiveResultPage). */
  function searchArchive(request: FastifyRequest, reply: FastifyReply, version: SearchVersion, index: SearchIndex): FastifyReply {
    const query = request.query as Query;
    const q = qOf(query);
    const pageNumber = pageOf(query);
    const ignored = ignoredOf(query, ['q', 'page']);
    const parsed = parseQuery(q ?? '');
    const found = parsed ? index.searchArchive(parsed, archiveRange(pageNumber)) : { pages: 0, more: false, items: [] };
    const results = archiveResultPage(found, q ?? '', pageNumber, ignored);
    if (!results) throw notFound(`page ${pageNumber}: the results of '${q ?? ''}' have ${Math.max(1, Math.ceil(found.pages / ARCHIVE_PAGES_PER_RESULT))} page(s)`);
    const urls = new SearchUrls(base(request, reply));
    const service = urls.archive(version);
    const presentation = new PresentationUrls(urls.base);
    return sendJson(reply, version === 1 ? searchResponse1(service, results, presentation) : searchResponse2(service, results, presentation));
  }

  function text(request: FastifyRequest, reply: FastifyReply, version: 2 | 3): FastifyReply {
    const { index } = required();
    const identifier = pathAfter(request, version === 3 ? '/iiif/text/' : '/iiif/presentation/2/text/');
    const lines = index.pageState(identifier) ? index.lines(identifier) : undefined;
    if (!lines) throw notFound(`no page '${identifier}' with text in the catalog`);
    const urls = new SearchUrls(base(request, reply));
    const presentation = new PresentationUrls(urls.base);
    const id = urls.text(identifier, version);
    return sendJson(reply, version === 3 ? textPage3(id, identifier, lines, presentation) : textList2(id, identifier, lines, presentation));
  }

  app.get('/iiif/search/1', async (request, reply) => search(request, reply, 1));
  app.get('/iiif/search/2', async (request, reply) => search(request, reply, 2));
  app.get('/iiif/search/1/*', async (request, reply) => search(request, reply, 1));
  app.get('/iiif/search/2/*', async (request, reply) => search(request, reply, 2));
  app.get('/iiif/text/*', async (request, reply) => text(request, reply, 3));
  app.get('/iiif/presentation/2/text/*', async (request, reply) => text(request, reply, 2));
  app.get('/iiif/ocr/*', async (request, reply) => {
    const { index } = required();
    const identifier = pathAfter(request, '/iiif/ocr/');
    // The file is the one the index recorded for the page: a URL never names a path.
    const state = index.pageState(identifier);
    if (!state) throw notFound(`no page '${identifier}' with an OCR file in the catalog`);
    const content = await readFile(state.path).catch(() => undefined);
    if (!content) throw notFound(`the OCR file of '${identifier}' is gone from the masters folder; run vitrine convert again`);
    return reply.header('Cache-Control', CACHE_CONTROL).type(SIDECAR_MEDIA_TYPES[state.format]).send(content);
  });

  answerErrorsAsText(app);
}

