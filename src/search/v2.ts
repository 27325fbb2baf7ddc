import type { PresentationUrls } from '../presentation/urls.js';
import { hitAnnotationId, hitTargets, type ResultPage } from './results.js';
import type { Term } from './search-index.js';
import { queryUrl } from './urls.js';

/** Content Search 2.0. */
export const SEARCH_CONTEXT_2 = 'http://iiif.io/api/search/2/context.json';

type Json = Record<string, unknown>;

/** The 2.0 service block of a 3.0 manifest, with its autocomplete service. */
export function searchService2(service: string, autocomplete: string | undefined): Json {
  return { id: service, type: 'SearchService2', ...(autocomplete ? { service: [{ id: autocomplete, type: 'AutoCompleteService2' }] } : {}) };
}

/**
 * A page of results as a 2.0 AnnotationPage: one `highlighting` Annotation per box, its body the
 * words it covers, its target the canvas region; the match context of each hit as a
 * `contextualizing` annotation (TextQuoteSelector prefix/exact/suffix) in `annotations`; the
 * collection of all pages in `partOf` with the total.
 */
export function searchResponse2(service: string, results: ResultPage, urls: PresentationUrls): Json {
  const items: Json[] = [];
  const context: Json[] = [];
  for (const hit of results.hits) {
    const canvas = urls.canvas(hit.identifier);
    const ids = hitTargets(canvas, hit).map(({ target, text }, i) => {
      const id = hitAnnotationId(canvas, hit, i);
      items.push({ id, type: 'Annotation', motivation: 'highlighting', body: { type: 'TextualBody', value: text, format: 'text/plain' }, target });
      return id;
    });
    context.push({
      id: `${ids[0]}/context`,
      type: 'Annotation',
      motivation: 'contextualizing',
      target: { type: 'SpecificResource', source: ids[0], selector: [{ type: 'TextQuoteSelector', prefix: hit.before, exact: hit.match, suffix: hit.after }] },
    });
  }
  const page = (n: number): Json => ({ id: queryUrl(service, results.q, n), type: 'AnnotationPage' });
  return {
    '@context': SEARCH_CONTEXT_2,
    id: queryUrl(service, results.q, results.page),
    type: 'AnnotationPage',
    partOf: { id: queryUrl(service, results.q), type: 'AnnotationCollection', ...(results.total !== undefined ? { total: results.total } : {}), first: page(1), last: page(results.pages) },
    ...(results.page < results.pages ? { next: page(results.page + 1) } : {}),
    ...(results.page > 1 ? { prev: page(results.page - 1) } : {}),
    ...(results.startIndex !== undefined ? { startIndex: results.startIndex } : {}),
    ...(results.ignored.length > 0 ? { ignored: results.ignored } : {}),
    items,
    ...(context.length > 0 ? { annotations: [{ type: 'AnnotationPage', items: context }] } : {}),
  };
}

/** Autocomplete 2.0: a TermPage of terms with their totals. */
export function autocompleteResponse2(id: string, terms: readonly Term[], ignored: readonly string[]): Json {
  return {
    '@context': SEARCH_CONTEXT_2,
    id,
    type: 'TermPage',
    ...(ignored.length > 0 ? { ignored } : {}),
    items: terms.map((t) => ({ value: t.term, total: t.count })),
  };
}
