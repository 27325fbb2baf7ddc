import type { ObjectRecord } from '../catalog/catalog.js';
import type { LanguageMap } from '../catalog/metadata.js';
import { naturalCompare } from '../pipeline/naming.js';
import { CONTEXT_2, value2 } from './manifest-v2.js';
import { CONTEXT_3 } from './manifest-v3.js';
import type { PresentationUrls } from './urls.js';

/**
 * The folder hierarchy above objects as nested collections. An object `fonds-a/box-1/folder-2` sits
 * in collection `fonds-a/box-1`, itself in `fonds-a`, itself in the top collection. A path that is
 * both an object and a folder of objects (masters beside sub-folders) is a collection whose first
 * item is that object's manifest.
 */
export interface CollectionNode {
  /** Folder path ('' for the top). */
  readonly path: string;
  label: LanguageMap;
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

/** The tree of every object with pages, labels from `labelOf`. */
export function collectionTree(objects: readonly ObjectRecord[], labelOf: (object: ObjectRecord) => LanguageMap, topLabel: LanguageMap): CollectionTree {
  const root: CollectionNode = { path: '', label: topLabel, children: new Map() };
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
        child = { path, label: { none: [names[i] ?? segment] }, children: new Map() };
        node.children.set(segment, child);
        nodes.set(path, child);
      }
      node = child;
    });
    node.object = { record: object, label: labelOf(object) };
  }
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

/** A collection as Presentation 3.0. */
export function collection3(tree: CollectionTree, node: CollectionNode, urls: PresentationUrls): Record<string, unknown> {
  const parent = parentPath(node);
  return {
    '@context': CONTEXT_3,
    id: urls.collection(node.path, 3),
    type: 'Collection',
    label: node.label,
    ...(parent !== undefined ? { partOf: [{ id: urls.collection(parent, 3), type: 'Collection', label: tree.nodes.get(parent)?.label ?? { none: [parent] } }] } : {}),
    items: members(node).map((m) => ({
      id: m.kind === 'Collection' ? urls.collection(m.path, 3) : urls.manifest(m.path, 3),
      type: m.kind,
      label: m.label,
    })),
  };
}

/** A collection as Presentation 2.1: sub-collections in `collections`, objects in `manifests`. */
export function collection2(node: CollectionNode, urls: PresentationUrls): Record<string, unknown> {
  const parent = parentPath(node);
  const list = members(node);
  const collections = list.filter((m) => m.kind === 'Collection').map((m) => ({ '@id': urls.collection(m.path, 2), '@type': 'sc:Collection', label: value2(m.label) }));
  const manifests = list.filter((m) => m.kind === 'Manifest').map((m) => ({ '@id': urls.manifest(m.path, 2), '@type': 'sc:Manifest', label: value2(m.label) }));
  return {
    '@context': CONTEXT_2,
    '@id': urls.collection(node.path, 2),
    '@type': 'sc:Collection',
    label: value2(node.label),
    ...(node.path === '' ? { viewingHint: 'top' } : {}),
    ...(parent !== undefined ? { within: urls.collection(parent, 2) } : {}),
    ...(collections.length > 0 ? { collections } : {}),
    ...(manifests.length > 0 ? { manifests } : {}),
  };
}
