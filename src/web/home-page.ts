import type { PageAssets } from './assets.js';
import type { Card, CollectionCard, ImageCard, ObjectCard, Thumbnail } from './cards.js';
import { html, type Html } from './html.js';
import { IIIF_LOGO } from './iiif-logo.js';
import { layout } from './layout.js';
import { WebLinks } from './links.js';
import { plural } from './text.js';

export interface Crumb {
  readonly label: string;
  /** Undefined for the page itself. */
  readonly href: string | undefined;
}

export interface Pagination {
  readonly page: number;
  readonly pages: number;
  readonly href: (page: number) => string;
}

/** What the home page shows: a collection's entries, search results, or a folder of images. */
export interface HomeView {
  readonly base: string;
  readonly assets: PageAssets | undefined;
  readonly heading: string;
  readonly breadcrumb: readonly Crumb[];
  readonly query: string;
  /** What the search box searches, for its label. */
  readonly searchLabel: string;
  /** Whether the pages have OCR text: a second box then searches it (the full-text search page). */
  readonly textSearch?: boolean | undefined;
  /** One line under the heading: what is listed. */
  readonly summary: string;
  /** The collection's own description (its collection.yml), if any. */
  readonly description?: Html | '' | undefined;
  readonly notice?: Html | undefined;
  readonly cards: readonly Card[];
  readonly pagination: Pagination;
}

export function homePage(view: HomeView): Html {
  const links = new WebLinks(view.base);
  const collections = view.cards.filter((c): c is CollectionCard => c.kind === 'collection');
  const objects = view.cards.filter((c): c is ObjectCard => c.kind === 'object');
  const images = view.cards.filter((c): c is ImageCard => c.kind === 'image');
  return layout({
    title: view.breadcrumb.length > 1 || view.query ? `${view.heading} — Vitrine` : 'Vitrine',
    base: view.base,
    assets: view.assets,
    bodyClass: 'home',
    banner: html`${searchForm(view, links)}${view.textSearch ? textSearchForm(links, '') : ''}`,
    main: html`${breadcrumb(view.breadcrumb)}
<h1>${view.heading}</h1>
<p class="summary">${view.summary}</p>
${view.description}
${view.notice}
<p class="filter-status" id="filter-status" role="status" aria-live="polite"></p>
${collections.length > 0 ? section('collections', 'Collections', collections.map((c) => collectionCard(c, links))) : ''}
${objects.length > 0 ? section('objects', 'Objects', objects.map((c, i) => objectCard(c, links, i, view.query !== ''))) : ''}
${images.length > 0 ? section('images', 'Images', images.map((c) => imageCard(c, links))) : ''}
${pager(view.pagination)}`,
  });
}

function searchForm(view: HomeView, links: WebLinks): Html {
  return html`<form class="search" role="search" aria-label="Labels" action="${links.home()}" method="get">
<label for="search-input">${view.searchLabel}</label>
<span class="search-row"><input id="search-input" name="q" type="search" value="${view.query}" autocomplete="off" aria-describedby="search-hint"><button type="submit">Search</button></span>
<span id="search-hint" class="hint">Typing filters this page; Search looks everywhere.</span>
</form>`;
}

/** The box of the full-text search: the words on the pages, in every object (a landmark of its own, named apart from the label search). */
export function textSearchForm(links: WebLinks, query: string): Html {
  return html`<form class="search text-search" role="search" aria-label="Full text" action="${links.textSearch()}" method="get">
<label for="text-search-input">Search the text of every page</label>
<span class="search-row"><input id="text-search-input" name="q" type="search" value="${query}" autocomplete="off" aria-describedby="text-search-hint"><button type="submit">Search text</button></span>
<span id="text-search-hint" class="hint">Words in quotes: that phrase.</span>
</form>`;
}

export function breadcrumb(crumbs: readonly Crumb[]): Html | '' {
  if (crumbs.length < 2) return '';
  return html`<nav class="breadcrumb" aria-label="Breadcrumb"><ol>${crumbs.map((c) =>
    c.href === undefined ? html`<li><span aria-current="page">${c.label}</span></li>` : html`<li><a href="${c.href}">${c.label}</a></li>`,
  )}</ol></nav>`;
}

function section(id: string, title: string, cards: Html[]): Html {
  return html`<section class="listing" aria-labelledby="${id}-heading">
<h2 id="${id}-heading">${title}</h2>
<ul class="cards">${cards}</ul>
</section>`;
}

function picture(thumbnail: Thumbnail | undefined, alt: string): Html {
  if (!thumbnail) return html`<span class="thumb thumb-empty" role="img" aria-label="${alt ? `${alt} (no picture)` : 'no picture'}"></span>`;
  const size = thumbnail.width > 0 ? html` width="${thumbnail.width}" height="${thumbnail.height}"` : '';
  return html`<img class="thumb" src="${thumbnail.url}"${size} alt="${alt}" loading="lazy" decoding="async">`;
}

function collectionCard(card: CollectionCard, links: WebLinks): Html {
  const parts = [card.collections > 0 ? plural(card.collections, 'collection') : '', card.objects > 0 ? plural(card.objects, 'object') : ''].filter(Boolean);
  // The picture only illustrates the name beside it: empty alt text, the link says it all.
  return html`<li class="card collection" data-label="${card.label}">
<a class="card-link" href="${links.browse(card.path)}">${picture(card.thumbnail, '')}<span class="card-title">${card.label}</span></a>
<p class="meta">Collection · ${parts.join(', ')}</p>
</li>`;
}

function objectCard(card: ObjectCard, links: WebLinks, index: number, showCollection: boolean): Html {
  const titleId = `object-${index}`;
  const hidden = (text: string): Html => html`<span class="visually-hidden">${text}</span>`;
  return html`<li class="card object" data-label="${card.label}">
<a class="thumb-link" href="${links.mirador(card.manifest)}" tabindex="-1">${picture(card.thumbnail, `First page of ${card.label}`)}</a>
<h3 class="card-title" id="${titleId}">${card.label}</h3>
<p class="meta">${plural(card.pages, 'page')}${showCollection && card.collection.path !== '' ? html` · in <a href="${links.browse(card.collection.path)}">${card.collection.label}</a>` : ''}</p>
<ul class="actions" aria-labelledby="${titleId}">
<li><a href="${links.mirador(card.manifest)}">Mirador${hidden(`: ${card.label}`)}</a></li>
<li><a href="${links.universalViewer(card.manifest)}">Universal Viewer${hidden(`: ${card.label}`)}</a></li>
${card.thumbnail ? html`<li><a href="${links.openSeadragon(card.thumbnail.infoJson)}">Deep zoom${hidden(` of the first page of ${card.label}`)}</a></li>` : ''}
<li><a href="${card.manifest}" type="application/ld+json">Manifest${hidden(` of ${card.label}`)}</a></li>
<li><a class="iiif-dnd" href="${WebLinks.dragAndDrop(card.manifest)}" title="Drag and drop into a IIIF viewer">${IIIF_LOGO}${hidden(`IIIF drag-and-drop link for ${card.label}`)}</a></li>
</ul>
</li>`;
}

function imageCard(card: ImageCard, links: WebLinks): Html {
  return html`<li class="card image" data-label="${card.identifier}">
<a class="card-link" href="${links.openSeadragon(card.infoJson)}">${picture(card.thumbnail, '')}<span class="card-title">${card.identifier}</span></a>
<ul class="actions">
<li><a href="${links.openSeadragon(card.infoJson)}">Deep zoom<span class="visually-hidden"> of ${card.identifier}</span></a></li>
<li><a href="${card.infoJson}" type="application/ld+json">info.json<span class="visually-hidden"> of ${card.identifier}</span></a></li>
</ul>
</li>`;
}

export function pager(p: Pagination): Html | '' {
  if (p.pages <= 1) return '';
  return html`<nav class="pager" aria-label="Pages">
${p.page > 1 ? html`<a href="${p.href(p.page - 1)}" rel="prev">Previous</a>` : ''}
<span>Page ${p.page} of ${p.pages}</span>
${p.page < p.pages ? html`<a href="${p.href(p.page + 1)}" rel="next">Next</a>` : ''}
</nav>`;
}
