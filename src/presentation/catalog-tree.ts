import type { Catalog, ObjectRecord } from '../catalog/catalog.js';
import type { LanguageMap } from '../catalog/metadata.js';
import { collectionTree, type CollectionDescription, type CollectionTree } from './collections.js';
import { objectLabel } from './model.js';

/**
 * The collection tree of a catalog: its objects with their labels, its collections with their
 * descriptions and chosen pictures. `topLabel` (the configuration's) labels the top collection.
 */
export function catalogTree(catalog: Catalog, topLabel?: LanguageMap): { tree: CollectionTree; objects: ObjectRecord[] } {
  const objects = catalog.objects();
  const descriptions = new Map<string, CollectionDescription>();
  for (const [path, record] of catalog.collectionMetadata()) {
    const chosen = record.metadata.thumbnail;
    descriptions.set(path, { metadata: record.metadata, thumbnail: chosen && catalog.pageByIdentifier(chosen.page) });
  }
  const tree = collectionTree(objects, (o) => objectLabel(o, catalog.objectMetadata(o.id)?.metadata ?? {}), descriptions, topLabel);
  return { tree, objects };
}
