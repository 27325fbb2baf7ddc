import path from 'node:path';
import type { CollectionMetadata } from '../../catalog/metadata.js';
import type { Anomaly, PlannedObject } from '../plan.js';
import { COLLECTION_DESCRIPTION, COLLECTION_SIDECARS, type IgnoredFile } from '../scan.js';
import { MetadataError, parseCollectionDescription, type CollectionInput } from './description.js';
import { fieldSetter, PageIndex, resolveDescriptive } from './resolve.js';
import { readSidecarFile } from './sidecar-file.js';

export interface DescribedCollection {
  readonly metadata: CollectionMetadata;
  /** The collection.yml it was read from (path under the masters). */
  readonly sources: string[];
}

export interface CollectionDescriptions {
  /** Descriptions by collection path (the folder path in object ids; '' for the top collection). */
  readonly collections: Map<string, DescribedCollection>;
  /** Every collection path this batch has (its descriptions replace the catalog's). */
  readonly covered: Set<string>;
  readonly anomalies: Anomaly[];
}

/** What a collection needs to know of an object: its id and its folder, not its pages. */
export type CollectionMember = Pick<PlannedObject, 'id' | 'folder'>;

/**
 * The collections of a batch: every folder above an object is one, at the path its objects' ids
 * give it (`Fonds A/Box 1` → `Fonds-A/Box-1`). Only objects whose id follows their folders, one
 * segment per folder (the default naming, and rules that keep the folders), say where a folder is.
 */
function collectionsOf(objects: readonly CollectionMember[]): { byFolder: Map<string, Set<string>>; covered: Set<string> } {
  const byFolder = new Map<string, Set<string>>([['.', new Set([''])]]);
  const covered = new Set<string>(['']);
  for (const object of objects) {
    const ids = object.id.split('/');
    for (let k = 1; k < ids.length; k++) covered.add(ids.slice(0, k).join('/'));
    const folders = object.folder.split('/');
    if (object.folder === '.' || folders.length !== ids.length) continue;
    for (let k = 1; k < folders.length; k++) {
      const folder = folders.slice(0, k).join('/');
      byFolder.set(folder, (byFolder.get(folder) ?? new Set()).add(ids.slice(0, k).join('/')));
    }
  }
  return { byFolder, covered };
}

type Thumbnail = NonNullable<CollectionInput['thumbnail']>;
/** The page a thumbnail names in one object: its identifier, or why it has none. */
type ThumbnailPage = { readonly identifier: string } | { readonly error: unknown };

/** The names a collection's `thumbnail` may mean, from the collection's folder (and its path, once known). */
function thumbnailNames(value: Thumbnail, folder: string): { ref: string; page: number | string | undefined; wanted: string; asFolder: string } {
  const { object: ref, page } = typeof value === 'string' ? { object: value, page: undefined } : value;
  const wanted = ref.replace(/\\/g, '/').replace(/^\.?\/+|\/+$/g, '');
  return { ref, page, wanted, asFolder: path.posix.join(folder, wanted) };
}

/**
 * The object a collection's `thumbnail` names (its folder or id, from the collection's folder), and
 * the page: looked up in `pages`, the thumbnail's page in each object that might be the one named.
 */
function thumbnailOf(
  value: Thumbnail,
  folder: string,
  collection: string,
  objects: readonly CollectionMember[],
  pages: ReadonlyMap<string, ThumbnailPage>,
): CollectionMetadata['thumbnail'] {
  const { ref, wanted, asFolder } = thumbnailNames(value, folder);
  const inside = objects.filter((o) => collection === '' || o.id === collection || o.id.startsWith(`${collection}/`));
  const asId = collection === '' ? wanted : `${collection}/${wanted}`;
  const exact = inside.find((o) => o.folder === asFolder || o.id === asId || o.id === wanted);
  const object = exact ?? inside.find((o) => [asFolder, asId, wanted].some((n) => n.toLowerCase() === o.folder.toLowerCase() || n.toLowerCase() === o.id.toLowerCase()));
  // An object with no page caught was planned before the walk reached this collection's folder: not one of its own.
  const page = object && pages.get(object.id);
  if (!object || !page) throw new MetadataError(`no object '${ref}' in this collection (give the folder of one of its objects, from this folder)`);
  if ('error' in page) throw page.error;
  return { object: object.id, page: page.identifier };
}

/** A thumbnail reference, read when the plan reaches its collection.yml. */
interface OpenThumbnail {
  readonly folder: string;
  /** Its object as a folder from the collection's, and as given, in lower case. */
  readonly asFolder: string;
  readonly wanted: string;
  readonly page: number | string | undefined;
  /** The page it names in every later object under its folder that it may name, by object id. */
  readonly pages: Map<string, ThumbnailPage>;
}

/** A collection description, read when the plan reaches it. */
interface ReadDescription {
  readonly read: { readonly description: CollectionInput } | { readonly error: Error };
  readonly thumbnail?: OpenThumbnail | undefined;
}

/**
 * Reads every `collection.yml` (or .yaml, .json) of a batch as the plan streams by: a folder's
 * description as a collection. The one at the masters root describes the top collection. Only an
 * object's id and folder are kept, and for each thumbnail the one page it names in each object it
 * may name (resolved as the object goes by), so memory grows with the objects, not the pages. The
 * plan walks a folder's own files before its subfolders: a description is read before the objects
 * it can name. Problems (a bad field, a folder that is not a collection) become `metadata` anomalies
 * naming the file and field, given by `describe()` once the whole plan has gone by.
 */
export class BatchCollections {
  private readonly objects: CollectionMember[] = [];
  private readonly files = new Map<string, ReadDescription>();
  private readonly thumbnails: OpenThumbnail[] = [];

  constructor(private readonly masters: string) {}

  /** A step's ignored files: its collection descriptions are read now. */
  async addFiles(ignored: readonly IgnoredFile[]): Promise<void> {
    for (const file of ignored) {
      if (file.reason !== COLLECTION_DESCRIPTION || this.files.has(file.relativePath)) continue;
      const name = file.relativePath;
      let description: CollectionInput;
      try {
        description = parseCollectionDescription(await readSidecarFile(path.join(this.masters, ...name.split('/')), name), name);
      } catch (error) {
        if (!(error instanceof MetadataError) && (error as NodeJS.ErrnoException).code === undefined) throw error;
        this.files.set(name, { read: { error: error as Error } });
        continue;
      }
      let thumbnail: OpenThumbnail | undefined;
      if (description.thumbnail !== undefined) {
        const folder = path.posix.dirname(name);
        const { page, wanted, asFolder } = thumbnailNames(description.thumbnail, folder);
        thumbnail = { folder, asFolder: asFolder.toLowerCase(), wanted: wanted.toLowerCase(), page, pages: new Map() };
        this.thumbnails.push(thumbnail);
      }
      this.files.set(name, { read: { description }, thumbnail });
    }
  }

  /** An object of the plan: its id and folder kept, and the thumbnail page of a description above it that may name it. */
  addObject(object: PlannedObject): void {
    this.objects.push({ id: object.id, folder: object.folder });
    const names = [object.folder.toLowerCase(), object.id.toLowerCase()];
    for (const thumbnail of this.thumbnails) {
      const { folder, asFolder, wanted } = thumbnail;
      const under = folder === '.' || object.folder === folder || object.folder.startsWith(`${folder}/`);
      // Any name thumbnailOf may match, whatever the collection's path: the folder from here, the id, or the id under a collection.
      if (!under || !names.some((n) => n === asFolder || n === wanted || n.endsWith(`/${wanted}`))) continue;
      try {
        thumbnail.pages.set(object.id, { identifier: new PageIndex(object.pages).resolve(thumbnail.page ?? 1)[0]! });
      } catch (error) {
        thumbnail.pages.set(object.id, { error });
      }
    }
  }

  /** The collections of the batch, once every object has been added. */
  describe(): CollectionDescriptions {
    const anomalies: Anomaly[] = [];
    const collections = new Map<string, DescribedCollection>();
    const { byFolder, covered } = collectionsOf(this.objects);

    const files = new Map<string, string[]>();
    for (const file of this.files.keys()) {
      const folder = path.posix.dirname(file);
      files.set(folder, [...(files.get(folder) ?? []), file]);
    }
    const rank = (f: string): number => COLLECTION_SIDECARS.indexOf(path.posix.basename(f).toLowerCase());
    for (const folder of [...files.keys()].sort()) {
      const [chosen, ...others] = files.get(folder)!.sort((a, b) => rank(a) - rank(b)) as [string, ...string[]];
      const report = (detail: string): number => anomalies.push({ object: folder, kind: 'metadata', detail });
      if (others.length > 0) report(`${others.join(', ')} ignored: ${chosen} is read`);
      const paths = [...(byFolder.get(folder) ?? [])];
      if (paths.length !== 1) {
        const below = this.objects.some((o) => o.folder.startsWith(`${folder}/`));
        report(
          paths.length > 1
            ? `${chosen}: ${folder} holds objects of several collections (${paths.join(', ')}); not applied`
            : below
              ? `${chosen}: the objects below ${folder} have ids that do not follow its folders (naming rules), so it has no collection; not applied`
              : `${chosen}: ${folder} is not a collection (a collection is a folder of objects; describe a single object in manifest.yml)`,
        );
        continue;
      }
      const collection = paths[0]!;
      const earlier = collections.get(collection);
      if (earlier) {
        report(`${chosen}: describes collection '${collection}' as ${earlier.sources[0]} does; ${earlier.sources[0]} is read`);
        continue;
      }
      const { read, thumbnail } = this.files.get(chosen)!;
      if ('error' in read) {
        report(`${read.error.message}; not applied`);
        continue;
      }
      const description = read.description;
      const out: Record<string, unknown> = {};
      const problems: string[] = [];
      const field = fieldSetter(chosen, out, problems);
      resolveDescriptive(description, description.language ?? 'none', field);
      if (description.thumbnail !== undefined) {
        field('thumbnail', () => thumbnailOf(description.thumbnail!, folder, collection, this.objects, thumbnail?.pages ?? new Map()));
      }
      for (const detail of problems) report(detail);
      collections.set(collection, { metadata: out as CollectionMetadata, sources: [chosen] });
    }
    return { collections, covered, anomalies };
  }
}
