import type { PresentationUrls } from '../presentation/urls.js';
import { hitAnnotationId, hitTargets, type ResultPage } from './results.js';
import type { Term } from './search-index.js';
import { queryUrl } from './urls.js';

/** Content Search 1.0 (what Mirador 4 and UV 4 read). */
export const SEARCH_CONTEXT_1 = 'http://iiif.io/api/search/1/context.json';
export const SEARCH_PROFILE_1 = 'http://iiif.io/api/search/1/search';
export const AUTOCOMPLETE_PROFILE_1 = 'http://iiif.io/api/search/1/autocomplete';
const PRESENTATION_CONTEXT_2 = 'http://iiif.io/api/presentation/2/context.json';

type Json = Record<string, unknown>;

/**
 * The 1.0 service block a manifest declares (viewers find it by its `profile`), with its
 * autocomplete service nested: as an object in a 2.1 manifest, in an array in a 3.0 one (where
 * `service` is always an array).
 */
export function searchService1(service: string, autocomplete: string | undefined, nested: 'object' | 'array' = 'object'): Json {
  const inner = autocomplete && { '@id': autocomplete, '@type': 'AutoCompleteService1', profile: AUTOCOMPLETE_PROFILE_1 };
  return {
    '@context': SEARCH_CONTEXT_1,
    '@id': service,
    '@type': 'SearchService1',
    profile: SEARCH_PROFILE_1,
    ...(inner ? { service: nested === 'array' ? [inner] : inner } : {}),
  };
}

/**
 * A page of results as a 1.0 sc:AnnotationList: one oa:Annotation per box (sc:painting, `on` the
 * canvas region), and a search:Hit per match with its text and context, listing its annotations.
 */
export function searchResponse1(service: string, results: ResultPage, urls: PresentationUrls): Json {
  const resources: Json[] = [];
  const hits: Json[] = [];
  for (const hit of results.hits) {
    const canvas = urls.canvas(hit.identifier);
    const ids = hitTargets(canvas, hit).map(({ target, text }, i) => {
      const id = hitAnnotationId(canvas, hit, i);
      resources.push({ '@id': id, '@type': 'oa:Annotation', motivation: 'sc:painting', resource: { '@type': 'cnt:ContentAsText', chars: text }, on: target });
      return id;
    });
    hits.push({ '@type': 'search:Hit', annotations: ids, match: hit.match, before: hit.before, after: hit.after });
  }
  const page = (n: number): string => queryUrl(service, results.q, n);
  return {
    '@context': [PRESENTATION_CONTEXT_2, SEARCH_CONTEXT_1],
    '@id': page(results.page),
    '@type': 'sc:AnnotationList',
    within: {
      '@type': 'sc:Layer',
      ...(results.total !== undefined ? { total: results.total } : {}),
      first: page(1),
      last: page(results.pages),
      ...(results.ignored.length > 0 ? { ignored: results.ignored } : {}),
    },
    ...(results.page < results.pages ? { next: page(results.page + 1) } : {}),
    ...(results.page > 1 ? { prev: page(results.page - 1) } : {}),
    ...(results.startIndex !== undefined ? { startIndex: results.startIndex } : {}),
    resources,
    hits,
  };
}

/** Autocomplete 1.0: a search:TermList, each term with the search URL for it and its count. */
export function autocompleteResponse1(id: string, service: string, terms: readonly Term[], ignored: readonly string[]): Json {
  return {
    '@context': SEARCH_CONTEXT_1,
    '@id': id,
    '@type': 'search:TermList',
    ...(ignored.length > 0 ? { ignored } : {}),
    terms: terms.map((t) => ({ match: t.term, url: queryUrl(service, t.term), count: t.count })),
  };
}
