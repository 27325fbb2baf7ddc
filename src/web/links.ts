import { encodePath } from '../presentation/urls.js';

/** The URLs the pages link to, all under the server's public base URL. */
export class WebLinks {
  constructor(readonly base: string) {}

  home(query: { q?: string; page?: number } = {}): string {
    return `${this.base}/${searchString(query)}`;
  }

  /** A sub-collection's page: /browse/<folder path>. */
  browse(path: string, query: { page?: number } = {}): string {
    return path === '' ? this.home(query) : `${this.base}/browse/${encodePath(path)}${searchString(query)}`;
  }

  /** Mirador on a manifest; at a canvas, with a search run in its search panel, when given. */
  mirador(manifest: string, at: { canvas?: string; search?: string } = {}): string {
    const canvas = at.canvas ? `&canvas=${encodeURIComponent(at.canvas)}` : '';
    const search = at.search ? `&search=${encodeURIComponent(at.search)}` : '';
    return `${this.base}/viewer/mirador?manifest=${encodeURIComponent(manifest)}${canvas}${search}`;
  }

  /** The full-text search over every object's pages. */
  textSearch(query: { q?: string; page?: number } = {}): string {
    return `${this.base}/search${searchString(query)}`;
  }

  universalViewer(manifest: string): string {
    return `${this.base}/viewer/uv?manifest=${encodeURIComponent(manifest)}`;
  }

  openSeadragon(infoJson: string): string {
    return `${this.base}/viewer/openseadragon?image=${encodeURIComponent(infoJson)}`;
  }

  /**
   * The IIIF drag-and-drop form: the manifest's URL carrying itself as `manifest`, which viewers
   * read on drop. Written as the recipe shows it (not percent-encoded, some viewers do not decode)
   * unless the URL has characters a query would misread.
   */
  static dragAndDrop(manifest: string): string {
    const safe = /^[^?#&\s]+$/.test(manifest);
    return `${manifest}${manifest.includes('?') ? '&' : '?'}manifest=${safe ? manifest : encodeURIComponent(manifest)}`;
  }
}

function searchString(query: { q?: string | undefined; page?: number | undefined }): string {
  const params = new URLSearchParams();
  if (query.q) params.set('q', query.q);
  if (query.page !== undefined && query.page > 1) params.set('page', String(query.page));
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}
