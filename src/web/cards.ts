import { LRUCache } from 'lru-cache';
import type { Dimensions } from '../image-api/request.js';
import type { CollectionNode, CollectionTree } from '../presentation/collections.js';
import { firstValue, thumbnailSize, type ThumbnailPage } from '../presentation/model.js';
import type { PresentationStore } from '../presentation/store.js';
import type { PresentationUrls } from '../presentation/urls.js';
import { ancestry, entriesOf, firstObject, type Entry } from './listing.js';

/** A picture of an object: its first page, as the manifest's thumbnail is. */
export interface Thumbnail {
  readonly url: string;
  readonly width: number;
  readonly height: number;
  /** The page's Image API 3.0 info.json, for the deep-zoom viewer. */
  readonly infoJson: string;
}

export interface ObjectCard {
  readonly kind: 'object';
  readonly id: string;
  readonly label: string;
  readonly pages: number;
  readonly manifest: string;
  readonly thumbnail: Thumbnail | undefined;
  /** The collection the object is listed in, for search results ('' for the top one). */
  readonly collection: { readonly path: string; readonly label: string };
}

export interface CollectionCard {
  readonly kind: 'collection';
  readonly path: string;
  readonly label: string;
  readonly collections: number;
  readonly objects: number;
  readonly thumbnail: Thumbnail | undefined;
}

/** A file of a plain images folder (`--images`): no manifest, a deep zoom of the image. */
export interface ImageCard {
  readonly kind: 'image';
  readonly identifier: string;
  /** Its Image API 3.0 info.json, for the deep-zoom viewer. */
  readonly infoJson: string;
  /** Undefined when the file cannot be read as an image. */
  readonly thumbnail: Thumbnail | undefined;
}

export type Card = ObjectCard | CollectionCard | ImageCard;

/** The card of a file served by the Image API under `imageBase`, of the given size (undefined: unreadable). */
export function imageCard(identifier: string, imageBase: string, size: Dimensions | undefined): ImageCard {
  const service = `${imageBase}/iiif/3/${encodeURIComponent(identifier)}`;
  return { kind: 'image', identifier, infoJson: `${service}/info.json`, thumbnail: size ? thumbnailOf(service, size) : undefined };
}

export const THUMBNAIL_BOX = 200;

/**
 * A picture of an image of `size` within THUMBNAIL_BOX, asked by its exact size: a size form such
 * as `!200,200` would ask Image API 3.0 to upscale an image smaller than the box, which it refuses
 * (400) without `^`, and `^!200,200` would blow small images up. Exact `w,h` never exceeds the
 * image, and is the canonical form that caches share.
 */
export function thumbnailOf(service: string, size: Dimensions): Thumbnail {
  const { width, height } = thumbnailSize(size, THUMBNAIL_BOX);
  return { url: `${service}/full/${width},${height}/0/default.jpg`, width, height, infoJson: `${service}/info.json` };
}

type FirstPage = { identifier: string; width: number; height: number } | null;

/**
 * Turns the collection tree's entries into what the home page shows. The first page of an object
 * is read through the manifest source (the catalog), once per object and catalog state.
 */
export class CardMaker {
  private readonly firstPages = new LRUCache<string, { page: FirstPage }>({ max: 20_000 });

  constructor(private readonly store: PresentationStore) {}

  async cards(entries: readonly Entry[], tree: CollectionTree, urls: PresentationUrls, catalogModified: Date): Promise<Card[]> {
    return Promise.all(entries.map((entry) =>
      entry.kind === 'object' ? this.objectCard(entry.node, entry.label, tree, urls, catalogModified) : this.collectionCard(entry.node, entry.label, urls, catalogModified),
    ));
  }

  private async objectCard(node: CollectionNode, label: string, tree: CollectionTree, urls: PresentationUrls, modified: Date): Promise<ObjectCard> {
    const record = node.object!.record;
    const parent = tree.parentOf.get(record.id) ?? '';
    return {
      kind: 'object',
      id: record.id,
      label,
      pages: record.pageCount,
      manifest: urls.manifest(record.id),
      thumbnail: await this.thumbnail(record.id, urls, modified),
      collection: { path: parent, label: ancestry(tree, parent).slice(1).map((n) => firstValue(n.label)).join(' › ') },
    };
  }

  private async collectionCard(node: CollectionNode, label: string, urls: PresentationUrls, modified: Date): Promise<CollectionCard> {
    const entries = entriesOf(node);
    const first = firstObject(node);
    return {
      kind: 'collection',
      path: node.path,
      label,
      collections: entries.filter((e) => e.kind === 'collection').length,
      objects: entries.filter((e) => e.kind === 'object').length,
      // The page its collection.yml chose, else the first object's first page.
      thumbnail: node.description.thumbnail ? pageThumbnail(node.description.thumbnail, urls) : first ? await this.thumbnail(first.path, urls, modified) : undefined,
    };
  }

  private async thumbnail(objectId: string, urls: PresentationUrls, modified: Date): Promise<Thumbnail | undefined> {
    const key = `${modified.getTime()}\0${objectId}`;
    let cached = this.firstPages.get(key);
    if (!cached) {
      const first = (await this.store.manifestSource(objectId))?.source.pages[0];
      cached = { page: first ? { identifier: first.identifier, width: first.width, height: first.height } : null };
      this.firstPages.set(key, cached);
    }
    return cached.page ? pageThumbnail(cached.page, urls) : undefined;
  }
}

function pageThumbnail(page: ThumbnailPage, urls: PresentationUrls): Thumbnail {
  const size = thumbnailSize(page, THUMBNAIL_BOX);
  const service = urls.imageService(page.identifier, 3);
  return { url: `${service}/full/${size.width},${size.height}/0/default.jpg`, width: size.width, height: size.height, infoJson: `${service}/info.json` };
}
