import { open, rename } from 'node:fs/promises';
import path from 'node:path';

/** Flushes a file (or a directory's entries) to the disk. */
async function fsyncPath(file: string): Promise<void> {
  const handle = await open(file, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Renames a finished temporary file into place so that a power cut leaves either the old state or
 * the whole new file under its name, never an empty or partial one: the file's data is flushed
 * before the rename (otherwise ext4/XFS may persist the rename before the blocks), and the
 * destination directory after it (otherwise the rename itself may be lost).
 */
export async function renameDurably(temporary: string, destination: string): Promise<void> {
  await fsyncPath(temporary);
  await rename(temporary, destination);
  await fsyncPath(path.dirname(destination));
}
