import { existsSync } from 'node:fs';
import path from 'node:path';
import { Catalog } from '../catalog/catalog.js';
import { openCatalog, type CatalogLocation } from '../catalog/open.js';
import type { CatalogStore } from '../catalog/store.js';
import { absoluteFolder, type FolderListing } from './folder-listing.js';

/**
 * What the catalog says of the masters tree, to tell what changed while nobody watched: read once
 * at start (read-only), then closed. Holds one entry per catalog object and collection description,
 * never per page: an object's pages are read when the walk reaches its folder.
 */
export class CatalogCatchUp {
  private catalog: CatalogStore | undefined;
  /** Catalog objects by their folder (several with naming rules). */
  private readonly objectsByFolder = new Map<string, string[]>();
  /** Collection descriptions by their source file (path under the masters), with when they were recorded. */
  private readonly collectionSources = new Map<string, number>();

  private constructor(private readonly root: string) {}

  /** A catalog file may not exist yet (nothing converted): then every folder with masters is new. */
  static async open(root: string, location: CatalogLocation): Promise<CatalogCatchUp> {
    const catchUp = new CatalogCatchUp(root);
    if (location.kind === 'postgres') catchUp.catalog = await openCatalog(location);
    else if (existsSync(location.file)) catchUp.catalog = new Catalog(location.file, { readonly: true });
    for (const object of (await catchUp.catalog?.objects()) ?? []) {
      const ids = catchUp.objectsByFolder.get(object.folder);
      if (ids) ids.push(object.id);
      else catchUp.objectsByFolder.set(object.folder, [object.id]);
    }
    for (const record of (await catchUp.catalog?.collectionMetadata())?.values() ?? []) {
      for (const source of record.sources) catchUp.collectionSources.set(source, Date.parse(record.updatedAt));
    }
    return catchUp;
  }

  /**
   * Whether a folder's object differs from what the catalog recorded: masters added, removed, or with
   * another size or mtime (within a millisecond, as convert compares), or a metadata sidecar added,
   * removed or written after the object's metadata was recorded.
   */
  async objectChanged(listing: FolderListing): Promise<boolean> {
    const ids = this.objectsByFolder.get(listing.folder) ?? [];
    if (ids.length === 0 || !this.catalog) return listing.masters.length > 0;
    const dir = absoluteFolder(this.root, listing.folder);
    const recorded = new Map<string, { size: number; mtimeMs: number }>();
    let sidecarSources = new Set<string>();
    let metadataAt = -Infinity;
    for (const id of ids) {
      for (const page of await this.catalog.pages(id)) recorded.set(page.sourcePath, { size: page.sourceSize, mtimeMs: page.sourceMtimeMs });
      const metadata = await this.catalog.objectMetadata(id);
      if (metadata) {
        sidecarSources = new Set([...sidecarSources, ...metadata.sources]);
        metadataAt = Math.max(metadataAt, Date.parse(metadata.updatedAt));
      }
    }
    if (recorded.size !== listing.masters.length) return true;
    for (const master of listing.masters) {
      const known = recorded.get(path.join(dir, master.name));
      if (!known || known.size !== master.size || Math.abs(known.mtimeMs - master.mtimeMs) >= 1) return true;
    }
    const relative = (name: string): string => (listing.folder === '.' ? name : `${listing.folder}/${name}`);
    for (const sidecar of listing.sidecars) {
      if (!sidecarSources.has(relative(sidecar.name)) || sidecar.mtimeMs > metadataAt) return true;
    }
    // A sidecar read last time and gone now (sources also name CSV files, which are not in the folder).
    const present = new Set(listing.sidecars.map((s) => relative(s.name)));
    for (const source of sidecarSources) {
      if (path.posix.dirname(source) === listing.folder && !present.has(source) && /^manifest\.(ya?ml|json)$/i.test(path.posix.basename(source))) return true;
    }
    return false;
  }

  /** Whether a folder's collection description is new, edited or gone since the catalog recorded it. */
  collectionChanged(listing: FolderListing): boolean {
    const prefix = listing.folder === '.' ? '' : `${listing.folder}/`;
    for (const file of listing.collections) {
      const recordedAt = this.collectionSources.get(`${prefix}${file.name}`);
      if (recordedAt === undefined || file.mtimeMs > recordedAt) return true;
    }
    for (const source of this.collectionSources.keys()) {
      if ((path.posix.dirname(source) === (listing.folder === '.' ? '.' : listing.folder)) && !listing.collections.some((f) => `${prefix}${f.name}` === source)) return true;
    }
    return false;
  }

  /** The catalog's object folders, and the folders of its collection descriptions. */
  objectFolders(): IterableIterator<string> {
    return this.objectsByFolder.keys();
  }

  collectionFolders(): string[] {
    return [...new Set([...this.collectionSources.keys()].map((source) => path.posix.dirname(source)))];
  }

  async close(): Promise<void> {
    await this.catalog?.close();
  }
}
