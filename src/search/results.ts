import type { ArchiveResults, Hit } from './search-index.js';

/** Hits per response page: Mirador and UV show the first page and follow `next` for the rest. */
export const HITS_PER_PAGE = 100;

/** One page of the hits of a query, with what both versions need to link the others. */
export interface ResultPage {
  readonly q: string;
  /** 1-based. */
  readonly page: number;
  readonly pages: number;
  /** Hits in all; undefined when counting them would cost reading every match (archive-wide). */
  readonly total: number | undefined;
  /** Index of the first hit of this page among all; undefined when the hits before it are not counted (archive-wide). */
  readonly startIndex: number | undefined;
  readonly hits: readonly Hit[];
  /** Request parameters the service did not apply. */
  readonly ignored: readonly string[];
}

/** The range of hits a 1-based page of results lists. */
export const hitRange = (page: number): { offset: number; limit: number } => ({ offset: (page - 1) * HITS_PER_PAGE, limit: HITS_PER_PAGE });

/** The page `page` (1-based) of the results, from its hits (those of hitRange) and the total; undefined when there is no such page. */
export function resultPage(found: { total: number; hits: readonly Hit[] }, q: string, page: number, ignored: readonly string[]): ResultPage | undefined {
  const pages = Math.max(1, Math.ceil(found.total / HITS_PER_PAGE));
  if (page < 1 || page > pages) return undefined;
  return { q, page, pages, total: found.total, startIndex: (page - 1) * HITS_PER_PAGE, hits: found.hits, ignored };
}

/** The id of the annotation of a hit's `part`-th box (or of the whole canvas): stable for a page's text. */
export const hitAnnotationId = (canvas: string, hit: Hit, part: number): string => `${canvas}/search/w${hit.position}${part > 0 ? `-${part}` : ''}`;

/** A hit's targets: its boxes on the canvas, or the whole canvas when the page's text has no coordinates. */
export function hitTargets(canvas: string, hit: Hit): { target: string; text: string }[] {
  if (hit.parts.length === 0) return [{ target: canvas, text: hit.match }];
  return hit.parts.map((p) => ({ target: `${canvas}#xywh=${p.box.x},${p.box.y},${p.box.w},${p.box.h}`, text: p.text }));
}

/** Pages (canvases) per response page of the archive-wide search: each comes with all its hits. */
export const ARCHIVE_PAGES_PER_RESULT = 20;

/** The range of matching canvases a 1-based response page of the archive-wide search lists. */
export const archiveRange = (page: number): { offset: number; limit: number } => ({ offset: (page - 1) * ARCHIVE_PAGES_PER_RESULT, limit: ARCHIVE_PAGES_PER_RESULT });

/**
 * A response page of the archive-wide search: paged by canvases (a page of the archive's text is
 * read only when it is listed), so the number of hits in all is not known; undefined when there is
 * no such page.
 */
export function archiveResultPage(results: ArchiveResults, q: string, page: number, ignored: readonly string[]): ResultPage | undefined {
  const pages = Math.max(1, Math.ceil(results.pages / ARCHIVE_PAGES_PER_RESULT));
  if (page < 1 || page > pages) return undefined;
  const hits = results.items.flatMap((item) => item.hits);
  return { q, page, pages, total: undefined, startIndex: undefined, hits, ignored };
}
