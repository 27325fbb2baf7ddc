import type { Box, PageText, SidecarFormat } from './model.js';
import type { SearchQuery } from './tokens.js';

/** Where a page's text came from: what a re-run compares to know whether to index it again. */
export interface SidecarState {
  /** The sidecar file (absolute path); served as the canvas's `seeAlso` through the index, never from a URL. */
  readonly path: string;
  readonly format: SidecarFormat;
  readonly size: number;
  readonly mtimeMs: number;
  /** The canvas (derivative) size the boxes were scaled to. */
  readonly canvasWidth: number;
  readonly canvasHeight: number;
  readonly parserVersion: number;
  /** ALTO's schema version (for the `seeAlso` profile). */
  readonly version?: string | undefined;
  /** When the text was indexed (ISO 8601): a run that finds nothing changed leaves it. */
  readonly indexedAt: string;
}

/** A page's text to index: its boxes already in canvas pixels (scaleToCanvas). */
export interface IndexedPage {
  readonly identifier: string;
  readonly objectId: string;
  readonly sidecar: SidecarState;
  readonly text: PageText;
}

/** One match of a query: a word or a run of words on one page. */
export interface Hit {
  /** The page (canvas) identifier. */
  readonly identifier: string;
  /** The matched words as written in the sidecar. */
  readonly match: string;
  readonly before: string;
  readonly after: string;
  /**
   * The boxes to draw, one per line the match spans (the union of its words' boxes on that line),
   * each with the words it covers. Empty when the page's text has no coordinates (plain text):
   * the hit is on the whole canvas.
   */
  readonly parts: readonly { readonly box: Box; readonly text: string }[];
  /** Position of the first word on its page: with the identifier, what makes a hit's id stable. */
  readonly position: number;
}

/** A line of a page's text, as the canvas's text annotations show it. */
export interface TextLine {
  readonly text: string;
  /** Absent when the text has no coordinates. */
  readonly box?: Box | undefined;
}

/** One page of an archive-wide search: the page, its object, and its hits in text order. */
export interface PageHits {
  readonly identifier: string;
  readonly objectId: string;
  readonly hits: readonly Hit[];
}

/** A range of the pages (canvases) a query matches in the whole archive. */
export interface ArchiveResults {
  /** How many pages match in all (text of pages withdrawn since it was indexed may be counted: they are never listed). */
  readonly pages: number;
  /** More pages match than were counted (`pages` is the engine's limit): only the first `pages` can be listed. */
  readonly more: boolean;
  readonly items: readonly PageHits[];
}

export interface Term {
  readonly term: string;
  readonly count: number;
}

/**
 * The text of pages, searchable by object: one interface whatever the engine (SQLite FTS5
 * embedded in the catalog today). Search 1.0 and 2.0 serialise the same hits.
 */
export interface SearchIndex {
  /** Replaces a page's text (a re-converted page or an edited sidecar), in one transaction. */
  replacePage(page: IndexedPage): void;
  removePage(identifier: string): void;
  /** Removes the text of an object's pages other than `keep` (pages gone from the object, or without a sidecar now). */
  retainPages(objectId: string, keep: readonly string[]): void;
  /** What a page's text was indexed from, if it has text. */
  pageState(identifier: string): SidecarState | undefined;
  /** The pages of an object that have text. */
  objectPages(objectId: string): Map<string, SidecarState>;
  /** Every hit of a query in an object, pages in reading order, hits in text order. */
  search(objectId: string, query: SearchQuery): Hit[];
  /** The hits `offset` to `offset + limit` of search(), and how many there are in all: what one page of results needs. */
  searchObject(objectId: string, query: SearchQuery, range: { offset: number; limit: number }): { total: number; hits: Hit[] };
  /**
   * The pages of every object that a query matches, `offset` and `limit` counted in pages, in
   * index order; each with all its hits. What the archive-wide search and the home page use.
   */
  searchArchive(query: SearchQuery, range: { offset: number; limit: number }): ArchiveResults;
  /** Whether any page has text (the top collection then declares the archive-wide search). */
  hasText(): boolean;
  /** Terms of an object starting with `prefix` (normalized), with their number of occurrences, alphabetically. */
  autocomplete(objectId: string, prefix: string, options: { min: number; limit: number }): Term[];
  /** A page's lines, in reading order. */
  lines(identifier: string): TextLine[];
  close(): void;
}
