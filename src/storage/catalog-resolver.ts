import path from 'node:path';
import { OPEN, type AccessPolicy } from '../auth/policy.js';
import type { CatalogReader } from '../catalog/reader.js';
import { notFound } from '../image-api/errors.js';

/** What CatalogResolver resolves through: a folder's files, or an S3 prefix's objects. */
export interface LocatorResolver {
  resolve(identifier: string): Promise<string>;
  /** The path of a resolved locator under the images root ('/' separators), extension included. */
  relativeOf(locator: string): string;
}

/**
 * Identifiers of a converted data folder: the catalog says which file is a page's current
 * derivative. During a change of format (ptiff ↔ jp2) both page.tif and page.jp2 can exist for a
 * while (the old one is removed only once the new one is recorded, and a kill can come in between);
 * resolving by the first extension found would serve the stale one. Identifiers the catalog does
 * not know (files put in images/ by hand), and names given with their extension, resolve as files.
 * Pages of a withdrawn object are not served, even when their derivatives were kept on disk.
 */
export class CatalogResolver {
  constructor(
    private readonly files: LocatorResolver,
    private readonly catalog: CatalogReader,
  ) {}

  async resolve(identifier: string): Promise<string> {
    const catalog = this.catalog.current()?.catalog;
    const stem = identifier.slice(0, identifier.length - path.extname(identifier).length);
    if (catalog && (catalog.isWithdrawnIdentifier(identifier) || (stem !== identifier && catalog.isWithdrawnIdentifier(stem)))) {
      throw notFound(`identifier '${identifier}': its object was withdrawn`);
    }
    const recorded = path.extname(identifier) ? undefined : catalog?.pageByIdentifier(identifier);
    return this.files.resolve(recorded ? `${identifier}${path.extname(recorded.derivativePath)}` : identifier);
  }

  /**
   * The access policy of the page a resolved file is: found from the file (its path under images/ or the S3 prefix,
   * without extension), not from the identifier as asked, so every spelling of the identifier that
   * reaches the file (with its extension, percent-encoded) meets the same policy. A file the catalog
   * does not know (put in images/ by hand) is open.
   */
  policyOf(real: string): AccessPolicy {
    const relative = this.files.relativeOf(real);
    const identifier = relative.slice(0, relative.length - path.extname(relative).length);
    const catalog = this.catalog.current()?.catalog;
    const page = catalog?.pageByIdentifier(identifier);
    return page ? catalog!.objectAccess(page.objectId) : OPEN;
  }

  close(): void {
    this.catalog.close();
  }
}
