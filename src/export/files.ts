import { mkdir, rename, symlink, writeFile, lstat, stat } from 'node:fs/promises';
import path from 'node:path';
import type { ApiVersion } from '../image-api/request.js';

/**
 * Where a URL of the copy lives on disk. The ids say /iiif/3/a%2Fb/…, as the server's do; what file
 * a static host looks up for that depends on the host: nginx, S3 website endpoints, Python's
 * http.server and the npm static servers decode %2F into a slash (→ OUT/iiif/3/a/b/…), while
 * lighttpd (by default) and Apache (with AllowEncodedSlashes NoDecode) keep it (→ a file named
 * `a%2Fb`). The files live under the decoded path, and a relative symbolic link `a%2Fb` → `a/b`
 * serves the other hosts (an upload to a bucket copies the link's target; it is not needed there).
 */
export function imageDir(out: string, version: ApiVersion, identifier: string): string {
  return path.join(out, 'iiif', String(version), ...identifier.split('/'));
}

/** The link a host that keeps %2F literal looks up, and its target, relative to the link's folder; undefined when the identifier has no slash. */
export function encodedAlias(out: string, version: ApiVersion, identifier: string): { link: string; target: string } | undefined {
  if (!identifier.includes('/')) return undefined;
  return { link: path.join(out, 'iiif', String(version), encodeURIComponent(identifier)), target: identifier };
}

/** Whether the file exists: written files are renamed into place whole, so one that exists is complete. */
export async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    (s) => s.isFile(),
    () => false,
  );
}

let sequence = 0;

/** Writes a file whole or not at all (a temporary file renamed into place), creating its folder. */
export async function writeAtomically(file: string, data: Buffer | string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}-${sequence++}.tmp`;
  await writeFile(temporary, data);
  await rename(temporary, file);
}

/** Makes the %2F alias of an image folder (once; a link already there is kept). */
export async function linkAlias(alias: { link: string; target: string }): Promise<void> {
  const present = await lstat(alias.link).then(
    () => true,
    () => false,
  );
  if (present) return;
  await mkdir(path.dirname(alias.link), { recursive: true });
  const temporary = `${alias.link}.${process.pid}-${sequence++}.tmp`;
  await symlink(alias.target, temporary);
  await rename(temporary, alias.link);
}
