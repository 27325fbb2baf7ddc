import { encodePath } from '../presentation/urls.js';

/** Search API versions. */
export type SearchVersion = 1 | 2;

/**
 * The URLs of the search services and of the text resources of pages, under the server's public
 * base. Object ids and page identifiers keep their slashes, each segment percent-encoded.
 *
 *   BASE/iiif/search/{1|2}                             Content Search 1.0 / 2.0 over every object
 *   BASE/iiif/search/{1|2}/<object id>                 Content Search 1.0 / 2.0
 *   BASE/iiif/search/{1|2}/<object id>/autocomplete    Autocomplete 1.0 / 2.0
 *   BASE/iiif/text/<page identifier>                   the page's text as an AnnotationPage (3.0)
 *   BASE/iiif/presentation/2/text/<page identifier>    … as an sc:AnnotationList (2.1)
 *   BASE/iiif/ocr/<page identifier>                    the OCR sidecar file itself (seeAlso)
 */
export class SearchUrls {
  constructor(readonly base: string) {}

  /** The search over the whole archive (declared by the top collection). */
  archive(version: SearchVersion): string {
    return `${this.base}/iiif/search/${version}`;
  }

  service(objectId: string, version: SearchVersion): string {
    return `${this.base}/iiif/search/${version}/${encodePath(objectId)}`;
  }

  autocomplete(objectId: string, version: SearchVersion): string {
    return `${this.service(objectId, version)}/autocomplete`;
  }

  text(identifier: string, version: 2 | 3 = 3): string {
    return `${this.base}/iiif${version === 2 ? '/presentation/2' : ''}/text/${encodePath(identifier)}`;
  }

  sidecar(identifier: string): string {
    return `${this.base}/iiif/ocr/${encodePath(identifier)}`;
  }
}

/** A search URL with its query, and the page of results when given (the whole result set without). */
export function queryUrl(service: string, q: string, page?: number): string {
  return `${service}?q=${encodeURIComponent(q)}${page !== undefined ? `&page=${page}` : ''}`;
}
