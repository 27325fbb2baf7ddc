import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { naturalCompare } from '../pipeline/naming.js';
import { IMAGE_EXTENSIONS } from '../storage/file-resolver.js';

export interface ImageFiles {
  /** Identifiers (paths under the folder, with `/`), in natural order. */
  readonly identifiers: string[];
  /** Whether the walk stopped at the limit. */
  readonly truncated: boolean;
}

const isImage = (name: string): boolean => IMAGE_EXTENSIONS.includes(path.extname(name).toLowerCase());

/**
 * The image files under a served folder, folder by folder (breadth first) up to `limit`, so a
 * folder of a million files costs a bounded walk. Hidden files and folders are skipped.
 */
export async function listImageFiles(root: string, limit: number): Promise<ImageFiles> {
  const identifiers: string[] = [];
  const queue = [''];
  while (queue.length > 0) {
    const relative = queue.shift()!;
    const entries = await readdir(path.join(root, relative), { withFileTypes: true }).catch(() => []);
    entries.sort((a, b) => naturalCompare(a.name, b.name));
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const id = relative === '' ? entry.name : `${relative}/${entry.name}`;
      if (entry.isDirectory()) queue.push(id);
      else if (entry.isFile() && isImage(entry.name)) {
        if (identifiers.length === limit) return { identifiers, truncated: true };
        identifiers.push(id);
      }
    }
  }
  return { identifiers, truncated: false };
}
