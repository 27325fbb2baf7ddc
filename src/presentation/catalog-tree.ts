import type { ObjectRecord } from '../catalog/catalog.js';
import type { LanguageMap } from '../catalog/metadata.js';
import type { CatalogStore } from '../catalog/store.js';
import { collectionTree, type CollectionDescription, type CollectionTree } from './collections.js';
import { objectLabel } from './model.js';

/**
 * The collection tree of a catalog: its objects with their labels, its collections with their
 * descriptions and chosen pictures. `topLabel` (the configuration's) labels the top collection.
 */
export async function catalogTree(catalog: CatalogStore, topLabel?: LanguageMap): Promise<{ tree: CollectionTree; objects: ObjectRecord[] }> {
  const objects = await catalog.objects();
  const descriptions = new Map<string, CollectionDescription>();
  for (const [path, record] of await catalog.collectionMetadata()) {
    const chosen = record.metadata.thumbnail;
    descriptions.set(path, { metadata: record.metadata, thumbnail: chosen && (await catalog.pageByIdentifier(chosen.page)) });
  }
  const metadata = await catalog.allObjectMetadata();
  const tree = collectionTree(objects, (o) => objectLabel(o, metadata.get(o.id) ?? {}), descriptions, topLabel);
  return { tree, objects };
}
