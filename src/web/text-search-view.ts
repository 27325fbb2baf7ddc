import { firstValue, objectLabel, pageLabel } from '../presentation/model.js';
import type { PresentationStore } from '../presentation/store.js';
import { PresentationUrls } from '../presentation/urls.js';
import { ARCHIVE_PAGES_PER_RESULT, archiveRange } from '../search/results.js';
import type { Hit, SearchIndex } from '../search/search-index.js';
import { parseQuery } from '../search/tokens.js';
import type { PageAssets } from './assets.js';
import { breadcrumb, pager, textSearchForm } from './home-page.js';
import { html, type Html } from './html.js';
import { layout } from './layout.js';
import { WebLinks } from './links.js';
import type { Rendered } from './rendered.js';
import { plural } from './text.js';

export interface TextSearchRequest {
  readonly store: PresentationStore;
  readonly index: SearchIndex | undefined;
  readonly base: string;
  readonly assets: PageAssets | undefined;
  readonly query: string;
  readonly page: number;
}

/** One page of an object where the words are found, as the results list it. */
interface Found {
  readonly objectLabel: string;
  readonly pageLabel: string;
  readonly collection: string;
  readonly hits: readonly Hit[];
  readonly viewer: string;
  readonly manifest: string;
}

/** Hits shown per page of an object: the first ones, then how many more. */
const SNIPPETS_PER_PAGE = 3;

/**
 * The results of a full-text search over every object's OCR text: each page where the words are,
 * with its object's and its own label, the words in their context, and a link to Mirador opened
 * at that page with the search run (its hits highlighted).
 */
export async function textSearchPage(request: TextSearchRequest): Promise<Rendered> {
  const { base, assets, query, store, index } = request;
  const links = new WebLinks(base);
  const urls = new PresentationUrls(base);
  const parsed = parseQuery(query);
  const results = parsed && index ? index.searchArchive(parsed, archiveRange(Math.max(1, request.page))) : { pages: 0, more: false, items: [] };
  const pages = Math.max(1, Math.ceil(results.pages / ARCHIVE_PAGES_PER_RESULT));
  const sources = new Map<string, Awaited<ReturnType<PresentationStore['manifestSource']>>>();
  const found: Found[] = [];
  for (const item of results.items) {
    if (!sources.has(item.objectId)) sources.set(item.objectId, await store.manifestSource(item.objectId));
    const source = sources.get(item.objectId)?.source;
    const page = source?.pages.find((p) => p.identifier === item.identifier);
    if (!source || !page) continue;
    const manifest = urls.manifest(item.objectId, 3);
    found.push({
      objectLabel: firstValue(objectLabel(source.object, source.metadata)),
      pageLabel: firstValue(pageLabel(page, source.metadata)),
      collection: source.parent.path === '' ? '' : firstValue(source.parent.label),
      hits: item.hits,
      manifest,
      viewer: links.mirador(manifest, { canvas: urls.canvas(item.identifier), search: query }),
    });
  }
  const heading = query === '' ? 'Search the text' : `Text search: ${query}`;
  const summary =
    query === ''
      ? 'Give words to find on the pages; words in double quotes find that phrase.'
      : !parsed
        ? `“${query}” has no word to search for.`
        : results.pages === 0
          ? `No page's text has “${query}”.`
          : `Found on ${results.more ? 'more than ' : ''}${plural(results.pages, 'page')}${results.more ? `; the first ${results.pages.toLocaleString('en')} are listed` : ''}.`;
  const page = layout({
    title: `${heading} — Vitrine`,
    base,
    assets,
    bodyClass: 'home text-search-results',
    banner: textSearchForm(links, query),
    main: html`${breadcrumb([
      { label: 'Home', href: links.home() },
      { label: heading, href: undefined },
    ])}
<h1>${heading}</h1>
<p class="summary" role="status">${summary}</p>
${found.length > 0 ? html`<ol class="text-hits" start="${(request.page - 1) * ARCHIVE_PAGES_PER_RESULT + 1}">${found.map((f) => resultItem(f))}</ol>` : ''}
${pager({ page: Math.min(Math.max(1, request.page), pages), pages, href: (n) => links.textSearch({ q: query, page: n }) })}`,
  });
  return { status: 200, page };
}

function resultItem(f: Found): Html {
  const more = f.hits.length - SNIPPETS_PER_PAGE;
  return html`<li class="text-hit">
<h2 class="text-hit-title"><a href="${f.viewer}">${f.objectLabel}, page ${f.pageLabel}</a></h2>
${f.collection ? html`<p class="meta">in ${f.collection}</p>` : ''}
<ul class="snippets">${f.hits.slice(0, SNIPPETS_PER_PAGE).map((h) => html`<li class="snippet">…${h.before}<mark>${h.match}</mark>${h.after}…</li>`)}</ul>
${more > 0 ? html`<p class="meta">and ${plural(more, 'more hit')} on this page</p>` : ''}
<p class="actions"><a href="${f.viewer}">Open this page in Mirador<span class="visually-hidden">: ${f.objectLabel}, page ${f.pageLabel}</span></a> · <a href="${f.manifest}" type="application/ld+json">Manifest</a></p>
</li>`;
}
