import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import type { MasterStore } from '../pipeline/stores.js';
import { underMasters } from './context.js';

/** What a folder named relative to the masters root is: one to ingest, or why not. */
export type FolderLookup = 'folder' | 'missing' | 'not a folder' | 'outside';

/**
 * Looks a folder up under the masters root, as the ingest API and the object jobs need it: a local
 * folder is stat'ed and must stay under the root through links; under an s3:// root, a folder is
 * the prefix of at least one object (the store lists one key).
 */
export async function lookUpFolder(masters: string, folder: string, store?: MasterStore): Promise<FolderLookup> {
  if (store?.hasFolder) return (await store.hasFolder(folder)) ? 'folder' : 'missing';
  const absolute = underMasters(masters, folder);
  const info = await stat(absolute).catch(() => undefined);
  if (!info) return 'missing';
  if (!info.isDirectory()) return 'not a folder';
  const [real, root] = await Promise.all([realpath(absolute), realpath(masters)]);
  return real === root || real.startsWith(`${root}${path.sep}`) ? 'folder' : 'outside';
}
