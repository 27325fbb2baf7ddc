import type { AccessPolicy } from '../auth/policy.js';
import path from 'node:path';
import type { ObjectRecord, PageRecord } from '../catalog/catalog.js';
import type { LanguageMap, ObjectMetadata } from '../catalog/metadata.js';
import type { Dimensions, SizeLimits } from '../image-api/request.js';
import { maxSize } from '../image-api/resolve.js';
import type { SidecarFormat } from '../search/model.js';
import type { PresentationUrls } from './urls.js';

/**
 * What a manifest is built from, all of it from the catalog: the object, its pages in reading
 * order with their derivative's size, and its descriptive metadata. No image is ever opened.
 */
export interface ManifestSource {
  readonly object: ObjectRecord;
  readonly pages: readonly PageRecord[];
  readonly metadata: ObjectMetadata;
  /** The collection the object sits in: its folder path ('' for the top) and label. */
  readonly parent: { readonly path: string; readonly label: LanguageMap };
  /** Who may see its images (absent: open); manifests stay public and name the services that protect each image. */
  readonly access?: AccessPolicy | undefined;
  /**
   * The pages with OCR text, by identifier (served manifests only): the manifest then declares the
   * search services, and those canvases link their OCR file and text annotations.
   */
  readonly text?: ReadonlyMap<string, PageTextSource> | undefined;
}

/** Where a page's text came from: its sidecar's format and (ALTO) schema version. */
export interface PageTextSource {
  readonly format: SidecarFormat;
  readonly version?: string | undefined;
}

export interface BuildOptions {
  readonly urls: PresentationUrls;
  /** The image server's output limits: the size of `full/max` depends on them. */
  readonly limits: SizeLimits;
  /** Longest side of thumbnails, in pixels (default 200). */
  readonly thumbnailSize?: number | undefined;
}

/** What a thumbnail is made from: a page's identifier and size. */
export type ThumbnailPage = Dimensions & { readonly identifier: string };
export type ThumbnailOptions = Pick<BuildOptions, 'urls' | 'thumbnailSize'>;

/** An object's label when no description gives one: its folder's name. */
export function defaultObjectLabel(object: ObjectRecord): LanguageMap {
  const name = object.folder !== '.' && object.folder !== '' ? path.posix.basename(object.folder) : (object.id.split('/').pop() ?? object.id);
  return { none: [name] };
}

export const objectLabel = (object: ObjectRecord, metadata: ObjectMetadata): LanguageMap => metadata.label ?? defaultObjectLabel(object);

/** A page's label: from the description, or its number in reading order. */
export const pageLabel = (page: PageRecord, metadata: ObjectMetadata): LanguageMap =>
  metadata.pageLabels?.[page.identifier] ?? { none: [String(page.sequence)] };

/** The size `full/max` has on the image server. */
export const maxImageSize = (page: Dimensions, limits: SizeLimits): Dimensions => maxSize(page, limits, false);

/**
 * A page's thumbnail: its size and the size parameter of its URL. From a static copy, the declared
 * size nearest to a `box` square (the smallest at least that large, else the largest), since no
 * other exists there; from the server, the page scaled to fit the box.
 */
export function thumbnailOf(page: ThumbnailPage, options: ThumbnailOptions, version: 2 | 3): { size: Dimensions; param: string } {
  const box = options.thumbnailSize ?? 200;
  const sizes = options.urls.staticImages?.sizes(page.identifier, version);
  // An image that fits one tile has no smaller size declared: the whole image is its thumbnail.
  if (sizes && sizes.length === 0) return { size: { width: page.width, height: page.height }, param: version === 2 ? 'full' : 'max' };
  if (sizes) {
    const sorted = [...sizes].sort((a, b) => a.width - b.width);
    const size = sorted.find((s) => Math.max(s.width, s.height) >= box) ?? sorted[sorted.length - 1]!;
    return { size, param: version === 2 ? `${size.width},` : `${size.width},${size.height}` };
  }
  const size = thumbnailSize(page, box);
  return { size, param: `${size.width},${size.height}` };
}

/** A thumbnail's size: the page scaled to fit `box`×`box`, never upscaled. */
export function thumbnailSize(page: Dimensions, box: number): Dimensions {
  const scale = Math.min(1, box / page.width, box / page.height);
  return { width: Math.max(1, Math.round(page.width * scale)), height: Math.max(1, Math.round(page.height * scale)) };
}

/** The first value of a language map, preferring English, then no language. */
export function firstValue(map: LanguageMap): string {
  return (map.en ?? map.none ?? Object.values(map)[0] ?? [''])[0] ?? '';
}
