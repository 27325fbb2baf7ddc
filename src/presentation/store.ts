import path from 'node:path';
import type { ActivityRecord } from '../catalog/activities.js';
import type { Catalog } from '../catalog/catalog.js';
import { CatalogReader } from '../catalog/reader.js';
import type { LanguageMap } from '../catalog/metadata.js';
import { catalogTree } from './catalog-tree.js';
import { TOP_LABEL, type CollectionTree } from './collections.js';
import type { ManifestSource } from './model.js';

export const CATALOG_FILE = 'catalog.sqlite';

/**
 * Read access to a data folder's catalog for the manifest service. One read-only connection, which
 * sees every conversion as soon as it commits (WAL); the catalog file is checked on each use and
 * reopened when it was replaced (a folder converted again from scratch). What is derived from the
 * whole catalog (the collection tree) is cached until the catalog changes.
 */
export class PresentationStore {
  private readonly reader: CatalogReader;
  private cachedTree: { key: string; tree: CollectionTree; modified: Date } | undefined;

  constructor(
    readonly dataDir: string,
    /** The top collection's label from the configuration; else the masters root's collection.yml gives it. */
    private readonly topLabel?: LanguageMap,
  ) {
    this.reader = new CatalogReader(path.join(dataDir, CATALOG_FILE));
  }

  get catalogFile(): string {
    return this.reader.file;
  }

  /** The catalog, or undefined when the data folder has none (yet). */
  private catalog(): { catalog: Catalog; ino: number } | undefined {
    return this.reader.current();
  }

  /** A key that changes whenever the catalog does. */
  private versionKey(open: { catalog: Catalog; ino: number }): string {
    return `${open.ino}:${open.catalog.dataVersion()}`;
  }

  /** The folder hierarchy of every object with pages, and when the catalog last changed. */
  tree(): { tree: CollectionTree; modified: Date } | undefined {
    const open = this.catalog();
    if (!open) return undefined;
    const key = this.versionKey(open);
    if (this.cachedTree?.key !== key) {
      const { tree, objects } = catalogTree(open.catalog, this.topLabel);
      const latest = objects.reduce((max, o) => Math.max(max, Date.parse(o.updatedAt) || 0), 0);
      this.cachedTree = { key, tree, modified: new Date(latest) };
    }
    return { tree: this.cachedTree.tree, modified: this.cachedTree.modified };
  }

  /** Whether the catalog has the object with pages. */
  hasObject(objectId: string): boolean {
    return (this.catalog()?.catalog.object(objectId)?.pageCount ?? 0) > 0;
  }

  /** Everything a manifest of the object is built from, or undefined when it has no pages or does not exist. */
  manifestSource(objectId: string): { source: ManifestSource; modified: Date; version: string } | undefined {
    const open = this.catalog();
    if (!open) return undefined;
    const object = open.catalog.object(objectId);
    if (!object || object.pageCount === 0) return undefined;
    const pages = open.catalog.pages(objectId);
    if (pages.length === 0) return undefined;
    const described = open.catalog.objectMetadata(objectId);
    // Only the parent comes from the tree: a tree from an earlier catalog version will do for its
    // path, so a catalog being written (every page commits) does not rebuild it for each manifest
    // (unless the object is new to it). Its label may have been edited since (a collection.yml):
    // that is read from the catalog.
    const version = this.versionKey(open);
    let tree = this.cachedTree?.tree ?? this.tree()!.tree;
    if (!tree.parentOf.has(objectId)) tree = this.tree()!.tree;
    const parentPath = tree.parentOf.get(objectId) ?? objectId.split('/').slice(0, -1).join('/');
    const node = tree.nodes.get(parentPath);
    const parentLabel =
      this.cachedTree?.key === version
        ? (node?.label ?? TOP_LABEL)
        : ((parentPath === '' ? this.topLabel : undefined) ?? open.catalog.collectionRecord(parentPath)?.metadata.label ?? node?.folderLabel ?? TOP_LABEL);
    const modified = Math.max(Date.parse(object.updatedAt) || 0, Date.parse(described?.updatedAt ?? '') || 0);
    return {
      source: { object, pages, metadata: described?.metadata ?? {}, parent: { path: parentPath, label: parentLabel }, access: open.catalog.objectAccess(objectId) },
      modified: new Date(modified),
      version,
    };
  }

  /** Whether an object was published once and withdrawn since (its manifest is Gone, not unknown). */
  isWithdrawn(objectId: string): boolean {
    return this.catalog()?.catalog.isWithdrawn(objectId) ?? false;
  }

  /**
   * The change stream (Change Discovery): its length, a reader of its activities, a key that changes
   * with the catalog and when it last changed (its newest activity).
   */
  changes(): { total: number; slice: (offset: number, limit: number) => ActivityRecord[]; version: string; modified: Date } | undefined {
    const open = this.catalog();
    if (!open) return undefined;
    const total = open.catalog.activityCount();
    const newest = total > 0 ? open.catalog.activities(total - 1, 1)[0]?.endTime : undefined;
    return {
      total,
      slice: (offset, limit) => open.catalog.activities(offset, limit),
      version: this.versionKey(open),
      modified: new Date(Date.parse(newest ?? '') || 0),
    };
  }

  close(): void {
    this.reader.close();
    this.cachedTree = undefined;
  }
}
