import type { ObjectRecord } from '../catalog/catalog.js';
import type { CollectionMetadata, LanguageMap } from '../catalog/metadata.js';
import { naturalCompare } from '../pipeline/naming.js';
import { CONTEXT_2, descriptive2, thumbnail2, value2 } from './manifest-v2.js';
import { CONTEXT_3, descriptive3, thumbnail } from './manifest-v3.js';
import type { ThumbnailPage } from './model.js';
import type { PresentationUrls } from './urls.js';

/** The top collection's label when neither the configuration nor the masters root's collection.yml gives one. */
export const TOP_LABEL: LanguageMap = { en: ['All objects'] };

/** A collection's description (its collection.yml, from the catalog) and the page it chose to picture it. */
export interface CollectionDescription {
  readonly metadata: CollectionMetadata;
  /** Undefined when none was chosen, or the chosen page is not in the catalog (any more). */
  readonly thumbnail?: ThumbnailPage | undefined;
}

/**
 * The folder hierarchy above objects as nested collections. An object `fonds-a/box-1/folder-2` sits
 * in collection `fonds-a/box-1`, itself in `fonds-a`, itself in the top collection. A path that is
 * both an object and a folder of objects (masters beside sub-folders) is a collection whose first
 * item is that object's manifest.
 */
export interface CollectionNode {
  /** Folder path ('' for the top). */
  readonly path: string;
  /** From the collection's description, else the folder's name. */
  label: LanguageMap;
  /** The label without a description: the folder's name (TOP_LABEL for the top). */
  readonly folderLabel: LanguageMap;
  /** The collection's description ({} without a collection.yml). */
  description: CollectionDescription;
  /** The object whose id is this path, if any. */
  object?: { readonly record: ObjectRecord; readonly label: LanguageMap } | undefined;
  readonly children: Map<string, CollectionNode>;
}

export interface CollectionTree {
  readonly root: CollectionNode;
  /** Every node by path (the top is ''). */
  readonly nodes: Map<string, CollectionNode>;
  /** The path of the collection each object is listed in. */
  readonly parentOf: Map<string, string>;
}

/**
 * The folder names of an object's id: its folder's own names when the id was made from the folder
 * (one slugged segment per folder), so `Fonds A/Box 1` labels collections, not `fonds-a/box-1`.
 */
function segmentLabels(object: ObjectRecord): string[] {
  const ids = object.id.split('/');
  const folders = object.folder.split('/');
  return folders.length === ids.length && object.folder !== '.' ? folders : ids;
}

/**
 * The tree of every object with pages, object labels from `labelOf`, collections described by
 * `descriptions` (by path). The top collection's label: `topLabel` (the configuration's), else its
 * description's, else TOP_LABEL.
 */
export function collectionTree(
  objects: readonly ObjectRecord[],
  labelOf: (object: ObjectRecord) => LanguageMap,
  descriptions: ReadonlyMap<string, CollectionDescription> = new Map(),
  topLabel?: LanguageMap,
): CollectionTree {
  const root: CollectionNode = { path: '', label: TOP_LABEL, folderLabel: TOP_LABEL, description: { metadata: {} }, children: new Map() };
  const nodes = new Map<string, CollectionNode>([['', root]]);
  for (const object of objects) {
    if (object.pageCount === 0) continue;
    const segments = object.id.split('/');
    const names = segmentLabels(object);
    let node = root;
    segments.forEach((segment, i) => {
      const path = segments.slice(0, i + 1).join('/');
      let child = node.children.get(segment);
      if (!child) {
        const label = { none: [names[i] ?? segment] };
        child = { path, label, folderLabel: label, description: { metadata: {} }, children: new Map() };
        node.children.set(segment, child);
        nodes.set(path, child);
      }
      node = child;
    });
    node.object = { record: object, label: labelOf(object) };
  }
  for (const [path, description] of descriptions) {
    const node = nodes.get(path);
    // A description of a folder that is no collection (any more) is not shown.
    if (!node || (path !== '' && node.children.size === 0)) continue;
    node.description = description;
    node.label = description.metadata.label ?? node.label;
  }
  if (topLabel) root.label = topLabel;
  const parentOf = new Map<string, string>();
  for (const node of nodes.values()) {
    if (!node.object) continue;
    // An object that is also a folder of objects is listed in its own collection.
    parentOf.set(node.path, node.children.size > 0 ? node.path : node.path.split('/').slice(0, -1).join('/'));
  }
  return { root, nodes, parentOf };
}

interface Member {
  readonly kind: 'Collection' | 'Manifest';
  readonly path: string;
  readonly label: LanguageMap;
}

/** What a collection lists, in order: its own object first, then sub-collections and manifests in natural order. */
function members(node: CollectionNode): Member[] {
  const out: Member[] = [];
  if (node.object && node.children.size > 0) out.push({ kind: 'Manifest', path: node.path, label: node.object.label });
  for (const key of [...node.children.keys()].sort(naturalCompare)) {
    const child = node.children.get(key)!;
    if (child.children.size > 0) out.push({ kind: 'Collection', path: child.path, label: child.label });
    else if (child.object) out.push({ kind: 'Manifest', path: child.path, label: child.object.label });
  }
  return out;
}

const parentPath = (node: CollectionNode): string | undefined => (node.path === '' ? undefined : node.path.split('/').slice(0, -1).join('/'));

/** The context of the Change Discovery API 1.0 (its documents, and the link to the stream). */
export const DISCOVERY_CONTEXT = 'http://iiif.io/api/discovery/1/context.json';

/**
 * The link from the top collection to the Change Discovery stream. The Change Discovery API 1.0
 * leaves how a stream is found to its registry (§2.4) and names no property for it; the stream is
 * an API a harvester works with rather than a description of the collection (what `seeAlso`
 * means in Presentation 3.0 §3.3.1), so it is given as a `service` (Presentation 3.0 §3.3.1
 * `service`: "a service that the client might interact with"), typed by its Activity Streams class.
 */
function changesService(node: CollectionNode, urls: PresentationUrls, version: 2 | 3): Record<string, unknown>[] {
  const stream = node.path === '' ? urls.changes() : undefined;
  if (stream === undefined) return [];
  return version === 3
    ? [{ id: stream, type: 'OrderedCollection', profile: DISCOVERY_CONTEXT }]
    : [{ '@context': DISCOVERY_CONTEXT, '@id': stream, '@type': 'OrderedCollection', profile: DISCOVERY_CONTEXT }];
}

/** A collection's `service`: the Change Discovery stream and the services given (the archive-wide search), if any; one in 2.1 stays an object. */
function services(node: CollectionNode, urls: PresentationUrls, version: 2 | 3, extra: readonly Record<string, unknown>[]): Record<string, unknown> {
  const all = [...changesService(node, urls, version), ...extra];
  if (all.length === 0) return {};
  return { service: version === 2 && all.length === 1 ? all[0] : all };
}

/** A collection as Presentation 3.0. */
export function collection3(tree: CollectionTree, node: CollectionNode, urls: PresentationUrls, extraServices: readonly Record<string, unknown>[] = []): Record<string, unknown> {
  const parent = parentPath(node);
  return {
    '@context': CONTEXT_3,
    id: urls.collection(node.path, 3),
    type: 'Collection',
    label: node.label,
    ...descriptive3(node.description.metadata, node.label),
    ...(node.description.thumbnail ? { thumbnail: [thumbnail(node.description.thumbnail, { urls })] } : {}),
    ...services(node, urls, 3, extraServices),
    ...(parent !== undefined ? { partOf: [{ id: urls.collection(parent, 3), type: 'Collection', label: tree.nodes.get(parent)?.label ?? { none: [parent] } }] } : {}),
    items: members(node).map((m) => ({
      id: m.kind === 'Collection' ? urls.collection(m.path, 3) : urls.manifest(m.path, 3),
      type: m.kind,
      label: m.label,
    })),
  };
}

/** A collection as Presentation 2.1: sub-collections in `collections`, objects in `manifests`. */
export function collection2(node: CollectionNode, urls: PresentationUrls, extraServices: readonly Record<string, unknown>[] = []): Record<string, unknown> {
  const parent = parentPath(node);
  const list = members(node);
  const collections = list.filter((m) => m.kind === 'Collection').map((m) => ({ '@id': urls.collection(m.path, 2), '@type': 'sc:Collection', label: value2(m.label) }));
  const manifests = list.filter((m) => m.kind === 'Manifest').map((m) => ({ '@id': urls.manifest(m.path, 2), '@type': 'sc:Manifest', label: value2(m.label) }));
  return {
    '@context': CONTEXT_2,
    '@id': urls.collection(node.path, 2),
    '@type': 'sc:Collection',
    label: value2(node.label),
    ...descriptive2(node.description.metadata, node.label),
    ...(node.description.thumbnail ? { thumbnail: thumbnail2(node.description.thumbnail, { urls }) } : {}),
    ...(node.path === '' ? { viewingHint: 'top' } : {}),
    ...services(node, urls, 2, extraServices),
    ...(parent !== undefined ? { within: urls.collection(parent, 2) } : {}),
    ...(collections.length > 0 ? { collections } : {}),
    ...(manifests.length > 0 ? { manifests } : {}),
  };
}
