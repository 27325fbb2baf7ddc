import path from 'node:path';
import type { CollectionMetadata } from '../../catalog/metadata.js';
import type { Anomaly, Plan, PlannedObject } from '../plan.js';
import { COLLECTION_DESCRIPTION, COLLECTION_SIDECARS } from '../scan.js';
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

/**
 * The collections of a batch: every folder above an object is one, at the path its objects' ids
 * give it (`Fonds A/Box 1` → `Fonds-A/Box-1`). Only objects whose id follows their folders, one
 * segment per folder (the default naming, and rules that keep the folders), say where a folder is.
 */
function collectionsOf(objects: readonly PlannedObject[]): { byFolder: Map<string, Set<string>>; covered: Set<string> } {
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

/** The object a collection's `thumbnail` names (its folder or id, from the collection's folder), and the page. */
function thumbnailOf(value: NonNullable<CollectionInput['thumbnail']>, folder: string, collection: string, objects: readonly PlannedObject[]): CollectionMetadata['thumbnail'] {
  const { object: ref, page } = typeof value === 'string' ? { object: value, page: undefined } : value;
  const inside = objects.filter((o) => collection === '' || o.id === collection || o.id.startsWith(`${collection}/`));
  const wanted = ref.replace(/\\/g, '/').replace(/^\.?\/+|\/+$/g, '');
  const asFolder = path.posix.join(folder, wanted);
  const asId = collection === '' ? wanted : `${collection}/${wanted}`;
  const exact = inside.find((o) => o.folder === asFolder || o.id === asId || o.id === wanted);
  const object = exact ?? inside.find((o) => [asFolder, asId, wanted].some((n) => n.toLowerCase() === o.folder.toLowerCase() || n.toLowerCase() === o.id.toLowerCase()));
  if (!object) throw new MetadataError(`no object '${ref}' in this collection (give the folder of one of its objects, from this folder)`);
  const [identifier] = new PageIndex(object.pages).resolve(page ?? 1);
  return { object: object.id, page: identifier! };
}

/**
 * Reads every `collection.yml` (or .yaml, .json) of a batch: a folder's description as a
 * collection. The one at the masters root describes the top collection. Problems (a bad field, a
 * folder that is not a collection) become `metadata` anomalies naming the file and field.
 */
export async function describeCollections(masters: string, plan: Plan): Promise<CollectionDescriptions> {
  const anomalies: Anomaly[] = [];
  const collections = new Map<string, DescribedCollection>();
  const { byFolder, covered } = collectionsOf(plan.objects);

  const files = new Map<string, string[]>();
  for (const file of plan.ignored) {
    if (file.reason !== COLLECTION_DESCRIPTION) continue;
    const folder = path.posix.dirname(file.relativePath);
    files.set(folder, [...(files.get(folder) ?? []), file.relativePath]);
  }
  const rank = (f: string): number => COLLECTION_SIDECARS.indexOf(path.posix.basename(f).toLowerCase());
  for (const folder of [...files.keys()].sort()) {
    const [chosen, ...others] = files.get(folder)!.sort((a, b) => rank(a) - rank(b)) as [string, ...string[]];
    const report = (detail: string): number => anomalies.push({ object: folder, kind: 'metadata', detail });
    if (others.length > 0) report(`${others.join(', ')} ignored: ${chosen} is read`);
    const paths = [...(byFolder.get(folder) ?? [])];
    if (paths.length !== 1) {
      const below = plan.objects.some((o) => o.folder.startsWith(`${folder}/`));
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
    let description: CollectionInput;
    try {
      description = parseCollectionDescription(await readSidecarFile(path.join(masters, ...chosen.split('/')), chosen), chosen);
    } catch (error) {
      if (!(error instanceof MetadataError) && (error as NodeJS.ErrnoException).code === undefined) throw error;
      report(`${(error as Error).message}; not applied`);
      continue;
    }
    const out: Record<string, unknown> = {};
    const problems: string[] = [];
    const field = fieldSetter(chosen, out, problems);
    resolveDescriptive(description, description.language ?? 'none', field);
    if (description.thumbnail !== undefined) field('thumbnail', () => thumbnailOf(description.thumbnail!, folder, collection, plan.objects));
    for (const detail of problems) report(detail);
    collections.set(collection, { metadata: out as CollectionMetadata, sources: [chosen] });
  }
  return { collections, covered, anomalies };
}
