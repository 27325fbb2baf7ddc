/**
 * Every URL the Presentation documents contain, in one place. Two layouts:
 *
 *   server  (vitrine serve):   BASE/iiif/manifest/<object id>, BASE/iiif/collection/top,
 *                              BASE/iiif/collection/<folder path>, and the 2.1 variants under
 *                              BASE/iiif/presentation/2/{manifest,collection}/…
 *   static  (vitrine manifests): BASE/manifest/<object id>.json, BASE/collection/top.json,
 *                              BASE/collection/<folder path>.json, BASE/presentation/2/…
 *
 * Object ids and folder paths keep their slashes (each segment percent-encoded); the server also
 * accepts them with encoded slashes (%2F). Canvases, annotations and ranges get ids under the same
 * base; they are not separate documents. Image services live under the image server's base.
 */
export type UrlLayout = 'server' | 'static';

/** The path of the top collection, and the name a folder called `top` is escaped with. */
export const TOP = 'top';

/**
 * The images of a static level-0 copy (vitrine export): the sizes each one was written at, so that
 * thumbnails name a file that exists, and its services say level 0.
 */
export interface StaticImages {
  /** The `sizes` of the image's info.json for that version (2.1 sizes are asked for as `w,`). */
  sizes(identifier: string, version: 2 | 3): readonly { readonly width: number; readonly height: number }[] | undefined;
  /** Whether the copy holds the object's PDF (open objects only): its manifest then names it. */
  hasPdf?(objectId: string): boolean;
}

export const encodePath = (path: string): string => path.split('/').map(encodeURIComponent).join('/');

export class PresentationUrls {
  private readonly prefix: string;
  private readonly suffix: string;

  constructor(
    readonly base: string,
    /** Base URL of the Image API server (the same server by default). */
    readonly imageBase: string = base,
    readonly layout: UrlLayout = 'server',
    /** Set for a static level-0 copy of the images; undefined for the image server (level 2). */
    readonly staticImages?: StaticImages | undefined,
  ) {
    this.prefix = layout === 'server' ? `${base}/iiif` : base;
    this.suffix = layout === 'server' ? '' : '.json';
  }

  manifest(objectId: string, version: 2 | 3 = 3): string {
    return `${this.prefix}${version === 2 ? '/presentation/2' : ''}/manifest/${encodePath(objectId)}${this.suffix}`;
  }

  /** A collection of the folder hierarchy; '' is the top collection. */
  collection(path: string, version: 2 | 3 = 3): string {
    // A first folder named `top` is escaped as top/top, so it cannot be taken for the top collection.
    const name = path === '' ? TOP : path.split('/')[0] === TOP ? `${TOP}/${path}` : path;
    return `${this.prefix}${version === 2 ? '/presentation/2' : ''}/collection/${encodePath(name)}${this.suffix}`;
  }

  /**
   * The Change Discovery stream (an OrderedCollection of activities) and its pages, 0-based: only
   * the server has one (undefined in the static layout, whose files record no changes).
   */
  changes(): string | undefined {
    return this.layout === 'server' ? `${this.prefix}/activity/all-changes` : undefined;
  }

  changesPage(index: number): string {
    return `${this.prefix}/activity/page/${index}`;
  }

  canvas(pageIdentifier: string): string {
    return `${this.prefix}/canvas/${encodePath(pageIdentifier)}`;
  }

  annotationPage(pageIdentifier: string): string {
    return `${this.canvas(pageIdentifier)}/page`;
  }

  annotation(pageIdentifier: string): string {
    return `${this.canvas(pageIdentifier)}/annotation`;
  }

  sequence(objectId: string): string {
    return `${this.prefix}/sequence/${encodePath(objectId)}/normal`;
  }

  range(objectId: string, path: readonly number[]): string {
    return `${this.prefix}/range/${encodePath(objectId)}/r${path.join('.')}`;
  }

  /**
   * The object's PDF (the server's /iiif/pdf/{object}; a static copy's pdf/{object}.pdf), or
   * undefined when there is none (manifests written without one).
   */
  pdf(objectId: string): string | undefined {
    if (this.layout === 'server') return `${this.prefix}/pdf/${encodePath(objectId)}`;
    return this.staticImages?.hasPdf?.(objectId) ? `${this.prefix}/pdf/${encodePath(objectId)}.pdf` : undefined;
  }

  /** The Image API service of a page: /iiif/3/<identifier with %2F> or /iiif/2/…. */
  imageService(identifier: string, version: 2 | 3): string {
    return `${this.imageBase}/iiif/${version}/${encodeURIComponent(identifier)}`;
  }
}

/** The folder path a collection URL path names ('' for the top collection). */
export function collectionPathOf(urlPath: string): string {
  const trimmed = urlPath.replace(/^\/+|\/+$/g, '');
  if (trimmed === TOP || trimmed === '') return '';
  return trimmed.startsWith(`${TOP}/`) ? trimmed.slice(TOP.length + 1) : trimmed;
}
