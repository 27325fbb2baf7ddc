import { createHash } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { COLLECTION_DESCRIPTION, ignoreReason } from '../pipeline/scan.js';
import { DEFAULT_VARIANTS, isVariantFolder, objectFolderOf, selectVariants, type VariantPreference } from '../pipeline/variants.js';

/** What a file of the masters tree is to the watcher, by the pipeline's own rules (scan.ts). */
export type FileRole = 'master' | 'sidecar' | 'collection';

/** A master, an object's metadata sidecar (manifest.yml …) or a collection description; undefined: not watched (temporary, hidden, notes). */
export function fileRole(name: string): FileRole | undefined {
  const reason = ignoreReason(name);
  if (reason === undefined) return 'master';
  if (reason === 'metadata sidecar') return 'sidecar';
  if (reason === COLLECTION_DESCRIPTION) return 'collection';
  return undefined;
}

/** A file's name (in its folder), size and mtime: what stability and change are judged on, never its content. */
export interface FileStamp {
  /** In its object folder: `p001.tif`, or `master/p001.tif` in a variant folder of it. */
  readonly name: string;
  readonly size: number;
  readonly mtimeMs: number;
}

/** One folder's own watched files (not its subfolders'). */
export interface FolderListing {
  /** Relative to the masters root, '/' separators; '.' for the root. */
  readonly folder: string;
  /** The masters a conversion takes: its variant folders' too, one version per page (as the scan and plan choose). */
  readonly masters: FileStamp[];
  readonly sidecars: FileStamp[];
  readonly collections: FileStamp[];
  /** Names of the subfolders that are not hidden (not the variant folders; their own subfolders as `master/sub`). */
  readonly subfolders: string[];
}

/** The absolute path of a folder given relative to the masters root. */
export const absoluteFolder = (root: string, folder: string): string => (folder === '.' ? root : path.join(root, ...folder.split('/')));

/** The folder (relative, '.' for the root) of a path under the masters root. */
export function folderOf(root: string, file: string): string {
  const relative = path.relative(root, path.dirname(file)).split(path.sep).join('/');
  return relative === '' ? '.' : relative;
}

/** A folder relative to the root, for a path of a folder under it. */
export function relativeFolder(root: string, dir: string): string {
  const relative = path.relative(root, dir).split(path.sep).join('/');
  return relative === '' ? '.' : relative;
}

/**
 * The object folder of a file under the masters root, and the file's name in it: a master in a
 * variant folder (`obj/master/p001.tif`) belongs to the folder above (`obj`, as `master/p001.tif`).
 */
export function objectFileOf(root: string, file: string, variants: VariantPreference = DEFAULT_VARIANTS): { folder: string; name: string } {
  const folder = objectFolderOf(folderOf(root, file), variants);
  return { folder, name: path.relative(absoluteFolder(root, folder), file).split(path.sep).join('/') };
}

/**
 * Lists one folder (sorted names) with its variant folders, as the scan reads an object (variants.ts);
 * a folder that is gone lists empty.
 */
export async function listFolder(root: string, folder: string, variants: VariantPreference = DEFAULT_VARIANTS): Promise<FolderListing> {
  const own = await listOneFolder(root, folder);
  const variantFolders = own.subfolders.filter((name) => isVariantFolder(name, variants));
  if (variantFolders.length === 0) return own;
  const listing: FolderListing = { ...own, subfolders: own.subfolders.filter((name) => !variantFolders.includes(name)) };
  const masters = [...own.masters];
  for (const name of variantFolders) {
    const variant = await listOneFolder(root, folder === '.' ? name : `${folder}/${name}`);
    masters.push(...variant.masters.map((m) => ({ ...m, name: `${name}/${m.name}` })));
    listing.subfolders.push(...variant.subfolders.map((sub) => `${name}/${sub}`));
  }
  listing.masters.splice(0, listing.masters.length, ...selectVariants(masters, (m) => m.name, variants).chosen);
  return listing;
}

async function listOneFolder(root: string, folder: string): Promise<FolderListing> {
  const listing: FolderListing = { folder, masters: [], sidecars: [], collections: [], subfolders: [] };
  const dir = absoluteFolder(root, folder);
  const entries = await readdir(dir, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return [];
    throw error;
  });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    if (entry.isDirectory()) {
      if (!entry.name.startsWith('.')) listing.subfolders.push(entry.name);
      continue;
    }
    const role = fileRole(entry.name);
    if (!role) continue;
    // Followed like the scan does (links to files count); a file gone meanwhile is simply not there.
    const info = await stat(path.join(dir, entry.name)).catch(() => undefined);
    if (!info?.isFile()) continue;
    const stamp = { name: entry.name, size: info.size, mtimeMs: info.mtimeMs };
    (role === 'master' ? listing.masters : role === 'sidecar' ? listing.sidecars : listing.collections).push(stamp);
  }
  return listing;
}

/**
 * Every folder of the masters tree, a folder at a time, depth first (hidden folders skipped, links
 * to folders not followed, as the scan does): memory holds the folders on the current path only.
 */
export async function* walkFolders(root: string, variants: VariantPreference = DEFAULT_VARIANTS): AsyncGenerator<FolderListing> {
  const pending = ['.'];
  for (let folder = pending.pop(); folder !== undefined; folder = pending.pop()) {
    const listing = await listFolder(root, folder, variants);
    yield listing;
    for (const name of [...listing.subfolders].reverse()) pending.push(folder === '.' ? name : `${folder}/${name}`);
  }
}

/** A short fingerprint of files' names, sizes and mtimes: what is remembered of a folder between events. */
export function stampDigest(stamps: readonly FileStamp[]): string {
  const hash = createHash('sha1');
  for (const s of stamps) hash.update(`${s.name}\0${s.size}\0${s.mtimeMs}\n`);
  return hash.digest('base64url');
}
