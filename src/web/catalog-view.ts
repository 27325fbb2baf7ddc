import { firstValue } from '../presentation/model.js';
import type { PresentationStore } from '../presentation/store.js';
import { PresentationUrls } from '../presentation/urls.js';
import type { PageAssets } from './assets.js';
import type { CardMaker } from './cards.js';
import { homePage, type Crumb } from './home-page.js';
import { collectionDescription } from './collection-description.js';
import { html, type Html } from './html.js';
import { WebLinks } from './links.js';
import { ancestry, entriesOf, paginate, search, type Entry } from './listing.js';
import { messagePage } from './message-page.js';
import type { Rendered } from './rendered.js';
import { plural } from './text.js';

/** Cards on one page of a listing. */
export const PAGE_SIZE = 48;

export interface CatalogRequest {
  readonly store: PresentationStore;
  readonly cards: CardMaker;
  readonly base: string;
  readonly assets: PageAssets | undefined;
  /** The collection's folder path ('' for the top collection). */
  readonly path: string;
  /** A search over every object's label (from the top page only), or ''. */
  readonly query: string;
  readonly page: number;
  /** Whether pages have OCR text (the banner then has the full-text search box too). */
  readonly textSearch?: boolean | undefined;
}

/** A collection's page of the home page, or the results of a search, from the catalog's collection tree. */
export async function catalogPage(request: CatalogRequest): Promise<Rendered> {
  const { base, assets, path, query } = request;
  const links = new WebLinks(base);
  const found = await request.store.tree();
  if (!found) {
    const body = html`<p>The data folder has no catalog yet. Convert masters into it with <code>vitrine convert MASTERS --out DATA</code>; objects show here as they are converted.</p>`;
    return { status: 200, page: messagePage({ base, assets, title: 'Nothing converted yet', body }) };
  }
  const { tree, modified } = found;
  let entries: Entry[];
  let heading: string;
  let crumbs: Crumb[];
  let summary: string;
  let description: Html | '' = '';
  if (query !== '') {
    entries = search(tree, query);
    heading = `Search: ${query}`;
    crumbs = [{ label: firstValue(tree.root.label), href: links.home() }, { label: heading, href: undefined }];
    summary = entries.length === 0 ? `No object's label contains “${query}”.` : `${plural(entries.length, 'object')} found.`;
  } else {
    const node = tree.nodes.get(path);
    if (!node || (node.children.size === 0 && path !== '')) {
      return { status: 404, page: messagePage({ base, assets, title: 'Not found', body: html`<p>There is no collection '${path}'.</p>` }) };
    }
    entries = entriesOf(node);
    heading = firstValue(node.label);
    description = collectionDescription(node.description.metadata);
    const chain = ancestry(tree, path);
    crumbs = chain.map((n, i) => ({ label: firstValue(n.label), href: i === chain.length - 1 ? undefined : links.browse(n.path) }));
    const collections = entries.filter((e) => e.kind === 'collection').length;
    const counts = [collections > 0 ? plural(collections, 'collection') : '', entries.length > collections ? plural(entries.length - collections, 'object') : ''];
    summary = entries.length === 0 ? 'Nothing converted yet.' : `${counts.filter(Boolean).join(', ')}.`;
  }
  const shown = paginate(entries, request.page, PAGE_SIZE);
  const page = homePage({
    base,
    assets,
    heading,
    breadcrumb: crumbs,
    query,
    searchLabel: 'Search objects by label',
    textSearch: request.textSearch,
    summary,
    description,
    cards: await request.cards.cards(shown.items, tree, new PresentationUrls(base), modified),
    pagination: { page: shown.page, pages: shown.pages, href: (n) => (query !== '' ? links.home({ q: query, page: n }) : links.browse(path, { page: n })) },
  });
  return { status: 200, page };
}
