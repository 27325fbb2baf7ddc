import path from 'node:path';
import type { ActivityRecord } from '../catalog/activities.js';
import { CatalogReader } from '../catalog/reader.js';
import type { LanguageMap } from '../catalog/metadata.js';
import type { CatalogSource, CatalogView } from '../catalog/store.js';
import { catalogTree } from './catalog-tree.js';
import { TOP_LABEL, type CollectionTree } from './collections.js';
import type { ManifestSource } from './model.js';

import { CATALOG_FILE } from '../catalog/open.js';
export { CATALOG_FILE };

/** Manifest sources kept per catalog version: a server's working set of objects, bounded. */
const MANIFEST_CACHE_SIZE = 2000;

type Found = { source: ManifestSource; modified: Date; version: string } | undefined;

/**
 * Read access to a catalog for the manifest service: the data folder's SQLite file (one read-only
 * connection, reopened when the file was replaced) or a catalog server. What is derived from the
 * catalog (the collection tree, manifest sources, withdrawals) is cached under the catalog's
 * version, so an unchanged catalog costs no query per request.
 */
export class PresentationStore {
  private readonly source: CatalogSource;
  private cachedTree: { key: string; tree: CollectionTree; modified: Date } | undefined;
  private cached: { version: string; manifests: Map<string, Found>; withdrawn: Map<string, boolean> } = { version: '', manifests: new Map(), withdrawn: new Map() };

  constructor(
    readonly dataDir: string,
    /** The top collection's label from the configuration; else the masters root's collection.yml gives it. */
    private readonly topLabel?: LanguageMap,
    /** The catalog (default: the data folder's SQLite file). */
    source?: CatalogSource,
  ) {
    this.source = source ?? new CatalogReader(path.join(dataDir, CATALOG_FILE));
  }

  /** The data folder's SQLite file, which keeps the Content Search index whatever keeps the catalog. */
  get catalogFile(): string {
    return path.join(this.dataDir, CATALOG_FILE);
  }

  /** The catalog, or undefined when there is none (yet); per-object caches emptied when it changed. */
  private async catalog(): Promise<CatalogView | undefined> {
    const open = await this.source.current();
    if (open && open.version !== this.cached.version) this.cached = { version: open.version, manifests: new Map(), withdrawn: new Map() };
    return open;
  }

  /** The folder hierarchy of every object with pages, and when the catalog last changed. */
  async tree(): Promise<{ tree: CollectionTree; modified: Date } | undefined> {
    const open = await this.catalog();
    if (!open) return undefined;
    return this.treeOf(open);
  }

  private async treeOf(open: CatalogView): Promise<{ tree: CollectionTree; modified: Date }> {
    if (this.cachedTree?.key !== open.version) {
      const { tree, objects } = await catalogTree(open.store, this.topLabel);
      const latest = objects.reduce((max, o) => Math.max(max, Date.parse(o.updatedAt) || 0), 0);
      this.cachedTree = { key: open.version, tree, modified: new Date(latest) };
    }
    return { tree: this.cachedTree.tree, modified: this.cachedTree.modified };
  }

  /** Whether the catalog has the object with pages. */
  async hasObject(objectId: string): Promise<boolean> {
    return (await this.manifestSource(objectId)) !== undefined;
  }

  /** Everything a manifest of the object is built from, or undefined when it has no pages or does not exist. */
  async manifestSource(objectId: string): Promise<Found> {
    const open = await this.catalog();
    if (!open) return undefined;
    const manifests = this.cached.manifests;
    if (manifests.has(objectId)) return manifests.get(objectId);
    const found = await this.readManifestSource(open, objectId);
    if (manifests.size >= MANIFEST_CACHE_SIZE) manifests.delete(manifests.keys().next().value!);
    manifests.set(objectId, found);
    return found;
  }

  private async readManifestSource(open: CatalogView, objectId: string): Promise<Found> {
    const catalog = open.store;
    const object = await catalog.object(objectId);
    if (!object || object.pageCount === 0) return undefined;
    const pages = await catalog.pages(objectId);
    if (pages.length === 0) return undefined;
    const described = await catalog.objectMetadata(objectId);
    // Only the parent comes from the tree: a tree from an earlier catalog version will do for its
    // path, so a catalog being written (every page commits) does not rebuild it for each manifest
    // (unless the object is new to it). Its label may have been edited since (a collection.yml):
    // that is read from the catalog.
    const version = open.version;
    let tree = this.cachedTree?.tree ?? (await this.treeOf(open)).tree;
    if (!tree.parentOf.has(objectId)) tree = (await this.treeOf(open)).tree;
    const parentPath = tree.parentOf.get(objectId) ?? objectId.split('/').slice(0, -1).join('/');
    const node = tree.nodes.get(parentPath);
    const parentLabel =
      this.cachedTree?.key === version
        ? (node?.label ?? TOP_LABEL)
        : ((parentPath === '' ? this.topLabel : undefined) ?? (await catalog.collectionRecord(parentPath))?.metadata.label ?? node?.folderLabel ?? TOP_LABEL);
    const modified = Math.max(Date.parse(object.updatedAt) || 0, Date.parse(described?.updatedAt ?? '') || 0);
    return {
      source: { object, pages, metadata: described?.metadata ?? {}, parent: { path: parentPath, label: parentLabel }, access: await catalog.objectAccess(objectId) },
      modified: new Date(modified),
      version,
    };
  }

  /** Whether an object was published once and withdrawn since (its manifest is Gone, not unknown). */
  async isWithdrawn(objectId: string): Promise<boolean> {
    const open = await this.catalog();
    if (!open) return false;
    const withdrawn = this.cached.withdrawn;
    let answer = withdrawn.get(objectId);
    if (answer === undefined) {
      answer = await open.store.isWithdrawn(objectId);
      if (withdrawn.size >= MANIFEST_CACHE_SIZE) withdrawn.clear();
      withdrawn.set(objectId, answer);
    }
    return answer;
  }

  /**
   * The change stream (Change Discovery): its length, a reader of its activities, a key that changes
   * with the catalog and when it last changed (its newest activity).
   */
  async changes(): Promise<{ total: number; slice: (offset: number, limit: number) => Promise<ActivityRecord[]>; version: string; modified: Date } | undefined> {
    const open = await this.catalog();
    if (!open) return undefined;
    const total = await open.store.activityCount();
    const newest = total > 0 ? (await open.store.activities(total - 1, 1))[0]?.endTime : undefined;
    return {
      total,
      slice: async (offset, limit) => open.store.activities(offset, limit),
      version: open.version,
      modified: new Date(Date.parse(newest ?? '') || 0),
    };
  }

  async close(): Promise<void> {
    await this.source.close();
    this.cachedTree = undefined;
  }
}
