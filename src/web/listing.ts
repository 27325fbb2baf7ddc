import type { CollectionNode, CollectionTree } from '../presentation/collections.js';
import { firstValue } from '../presentation/model.js';
import { naturalCompare } from '../pipeline/naming.js';
import { foldText } from './text.js';

/** An entry of the home page: a sub-collection to browse, or an object to open. */
export type Entry =
  | { readonly kind: 'collection'; readonly node: CollectionNode; readonly label: string }
  | { readonly kind: 'object'; readonly node: CollectionNode; readonly label: string };

const objectEntry = (node: CollectionNode): Entry => ({ kind: 'object', node, label: firstValue(node.object!.label) });

/**
 * What a collection lists, in the order its Presentation document does: its own object first (a
 * folder that is an object and holds objects), then sub-collections and objects in natural order.
 */
export function entriesOf(node: CollectionNode): Entry[] {
  const out: Entry[] = [];
  if (node.object && node.children.size > 0) out.push(objectEntry(node));
  for (const key of [...node.children.keys()].sort(naturalCompare)) {
    const child = node.children.get(key)!;
    if (child.children.size > 0) out.push({ kind: 'collection', node: child, label: firstValue(child.label) });
    else if (child.object) out.push(objectEntry(child));
  }
  return out;
}

/** The first object met going down a collection in its order, for its picture. */
export function firstObject(node: CollectionNode): CollectionNode | undefined {
  for (const entry of entriesOf(node)) {
    const found = entry.kind === 'object' ? entry.node : firstObject(entry.node);
    if (found) return found;
  }
  return undefined;
}

/** Objects anywhere in the tree whose label (in any language) contains every word of `query`. */
export function search(tree: CollectionTree, query: string): Entry[] {
  const words = foldText(query).split(/\s+/).filter(Boolean);
  if (words.length === 0) return [];
  const found: Entry[] = [];
  for (const node of tree.nodes.values()) {
    if (!node.object) continue;
    const text = foldText(Object.values(node.object.label).flat().join(' '));
    if (words.every((w) => text.includes(w))) found.push(objectEntry(node));
  }
  return found.sort((a, b) => naturalCompare(a.label, b.label) || naturalCompare(a.node.path, b.node.path));
}

/** The collections from the top down to `path` (inclusive), for the breadcrumb. */
export function ancestry(tree: CollectionTree, path: string): CollectionNode[] {
  const chain = [tree.root];
  const segments = path === '' ? [] : path.split('/');
  segments.forEach((_, i) => {
    const node = tree.nodes.get(segments.slice(0, i + 1).join('/'));
    if (node) chain.push(node);
  });
  return chain;
}

/** One page of a long list. */
export function paginate<T>(items: readonly T[], page: number, size: number): { items: T[]; page: number; pages: number } {
  const pages = Math.max(1, Math.ceil(items.length / size));
  const current = Math.min(Math.max(1, page), pages);
  return { items: items.slice((current - 1) * size, current * size), page: current, pages };
}
