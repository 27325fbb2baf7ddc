import { randomBytes } from 'node:crypto';
import { open, readFile, rename } from 'node:fs/promises';
import path from 'node:path';

/** Where a data folder keeps the secret generated for it. */
export const SECRET_FILE = 'auth-secret';

/**
 * The secret that signs session cookies and access tokens: the configured one, else the data
 * folder's (generated once, written atomically with mode 0600, so sessions survive a restart and
 * every server of one data folder shares it), else a random one for this process (--images only).
 */
export async function loadSecret(configured: string | undefined, data: string | undefined): Promise<string> {
  if (configured !== undefined) return configured;
  if (data === undefined) return randomBytes(32).toString('base64url');
  const file = path.join(data, SECRET_FILE);
  const existing = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  if (existing !== undefined && existing.trim().length >= 32) return existing.trim();
  const secret = randomBytes(32).toString('base64url');
  const temp = `${file}.${process.pid}.tmp`;
  const handle = await open(temp, 'w', 0o600);
  try {
    await handle.writeFile(`${secret}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, file);
  // Two servers starting at once: whichever rename came last wins, and both read that one.
  return (await readFile(file, 'utf8')).trim();
}
