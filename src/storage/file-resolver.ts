import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { IiifError, badRequest, notFound } from '../image-api/errors.js';

/** Extensions tried, in order, when an identifier is given without its extension. */
export const IMAGE_EXTENSIONS = ['.tif', '.tiff', '.ptif', '.jpg', '.jpeg', '.png', '.jp2', '.j2k'];

/**
 * Refuses identifiers that could name something outside the images root: empty, NUL bytes,
 * backslashes, absolute paths, '.' or '..' segments (an encoded slash is decoded before this).
 */
export function checkIdentifier(identifier: string): void {
  if (identifier === '' || identifier.includes('\0') || identifier.includes('\\')) {
    throw badRequest(`identifier '${identifier}': contains characters that are not allowed`);
  }
  const segments = identifier.split('/');
  if (segments.some((s) => s === '..' || s === '.') || path.isAbsolute(identifier)) {
    throw badRequest(`identifier '${identifier}': must be a relative path without '.' or '..' segments`);
  }
}

/**
 * Maps identifiers to files under one root folder, and refuses anything that would leave it:
 * `..` segments, absolute paths, NUL bytes, and symbolic links that point outside the root.
 */
export class FileResolver {
  private constructor(readonly root: string) {}

  static async create(root: string): Promise<FileResolver> {
    const real = await realpath(root).catch(() => {
      throw new Error(`images folder ${root} does not exist`);
    });
    if (!(await stat(real)).isDirectory()) throw new Error(`images folder ${root} is not a folder`);
    return new FileResolver(real);
  }

  /** The real path of the file an identifier names (404 when there is none). */
  async resolve(identifier: string): Promise<string> {
    checkIdentifier(identifier);
    const direct = path.join(this.root, identifier);
    const candidates = path.extname(identifier) ? [direct] : [];
    candidates.push(...IMAGE_EXTENSIONS.flatMap((ext) => [direct + ext, direct + ext.toUpperCase()]));
    if (!candidates.includes(direct)) candidates.push(direct);
    for (const candidate of candidates) {
      const real = await realpath(candidate).catch(() => undefined);
      if (real === undefined) continue;
      if (!this.contains(real)) throw new IiifError(403, `identifier '${identifier}': resolves outside the images folder`);
      const info = await stat(real).catch(() => undefined);
      if (info?.isFile()) return real;
    }
    throw notFound(`identifier '${identifier}': no such image`);
  }

  /** A resolved file's path under the root, '/' separators. */
  relativeOf(real: string): string {
    return path.relative(this.root, real).split(path.sep).join('/');
  }

  private contains(real: string): boolean {
    return real.startsWith(this.root + path.sep);
  }
}
