import { notFound } from '../image-api/errors.js';
import { checkIdentifier, IMAGE_EXTENSIONS } from './file-resolver.js';
import type { S3Storage } from './s3-storage.js';

/**
 * Maps identifiers to object keys under the storage's prefix, with the rules of FileResolver: the
 * extension may be left out (the extensions are tried in the same order), and nothing may leave the
 * prefix ('..' and '.' segments, absolute names, backslashes refused; an encoded slash arrives
 * decoded, so it is checked too). Keys have no links, so a key under the prefix stays under it.
 * One ListObjectsV2 finds the key and its extended names at once (two when the first is truncated);
 * a bucket that does not exist is a 404 that says so.
 */
export class S3Resolver {
  constructor(private readonly storage: S3Storage) {}

  /** A resolved key's path under the prefix. */
  relativeOf(key: string): string {
    return key.slice(this.storage.location.prefix.length);
  }

  async resolve(identifier: string): Promise<string> {
    checkIdentifier(identifier);
    const direct = `${this.storage.location.prefix}${identifier}`;
    const candidates = /\.[^/.]+$/.test(identifier) ? [direct] : [];
    candidates.push(...IMAGE_EXTENSIONS.flatMap((ext) => [direct + ext, direct + ext.toUpperCase()]));
    if (!candidates.includes(direct)) candidates.push(direct);
    const found = new Set<string>();
    const first = await this.storage.list(direct);
    first.keys.forEach((k) => found.add(k));
    // Keys sort bytewise: names such as page-10 may fill the first page before page.tif.
    if (first.truncated) (await this.storage.list(`${direct}.`)).keys.forEach((k) => found.add(k));
    const key = candidates.find((c) => found.has(c));
    if (key === undefined) throw notFound(`identifier '${identifier}': no such image in ${this.storage.url(this.storage.location.prefix)}`);
    return key;
  }
}
