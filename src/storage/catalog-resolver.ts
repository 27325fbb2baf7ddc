import path from 'node:path';
import { OPEN, type AccessPolicy } from '../auth/policy.js';
import type { PageRecord } from '../catalog/catalog.js';
import type { CatalogSource, CatalogStore } from '../catalog/store.js';
import { notFound } from '../image-api/errors.js';

/** What CatalogResolver resolves through: a folder's files, or an S3 prefix's objects. */
export interface LocatorResolver {
  resolve(identifier: string): Promise<string>;
  /** The path of a resolved locator under the images root ('/' separators), extension included. */
  relativeOf(locator: string): string;
}

/** What the catalog says of one identifier: its page (if recorded), whether its object was withdrawn, the page's policy. */
interface Known {
  readonly page: PageRecord | undefined;
  readonly withdrawn: boolean;
  readonly policy: AccessPolicy;
}

/** Identifiers remembered per catalog version: the tiles a server is asked for, bounded. */
const KNOWN_LIMIT = 50_000;

/**
 * Identifiers of a converted data folder: the catalog says which file is a page's current
 * derivative. During a change of format (ptiff ↔ jp2) both page.tif and page.jp2 can exist for a
 * while (the old one is removed only once the new one is recorded, and a kill can come in between);
 * resolving by the first extension found would serve the stale one. Identifiers the catalog does
 * not know (files put in images/ by hand), and names given with their extension, resolve as files.
 * Pages of a withdrawn object are not served, even when their derivatives were kept on disk.
 *
 * What the catalog answers is kept until the catalog's version changes: a tile of an unchanged
 * catalog costs no query (on the image hot path, and for a catalog server a round trip each).
 */
export class CatalogResolver {
  private known: { version: string; entries: Map<string, Known> } = { version: '', entries: new Map() };

  constructor(
    private readonly files: LocatorResolver,
    private readonly catalog: CatalogSource,
  ) {}

  private async lookup(identifier: string): Promise<Known | undefined> {
    const open = await this.catalog.current();
    if (!open) return undefined;
    if (open.version !== this.known.version) this.known = { version: open.version, entries: new Map() };
    const entries = this.known.entries;
    let known = entries.get(identifier);
    if (!known) {
      known = await ask(open.store, identifier);
      if (entries.size >= KNOWN_LIMIT) entries.clear();
      entries.set(identifier, known);
    }
    return known;
  }

  async resolve(identifier: string): Promise<string> {
    const stem = identifier.slice(0, identifier.length - path.extname(identifier).length);
    if ((await this.lookup(identifier))?.withdrawn || (stem !== identifier && (await this.lookup(stem))?.withdrawn)) {
      throw notFound(`identifier '${identifier}': its object was withdrawn`);
    }
    const recorded = path.extname(identifier) ? undefined : (await this.lookup(identifier))?.page;
    return this.files.resolve(recorded ? `${identifier}${path.extname(recorded.derivativePath)}` : identifier);
  }

  /**
   * The access policy of the page a resolved file is: found from the file (its path under images/ or the S3 prefix,
   * without extension), not from the identifier as asked, so every spelling of the identifier that
   * reaches the file (with its extension, percent-encoded) meets the same policy. A file the catalog
   * does not know (put in images/ by hand) is open.
   */
  async policyOf(real: string): Promise<AccessPolicy> {
    const relative = this.files.relativeOf(real);
    const identifier = relative.slice(0, relative.length - path.extname(relative).length);
    return (await this.lookup(identifier))?.policy ?? OPEN;
  }

  /**
   * policyOf without waiting (the image fast path): the policy remembered for the catalog's current
   * version, or undefined when the version cannot be known now or the page was not looked up under
   * it (the caller then awaits policyOf).
   */
  policyOfNow(real: string): AccessPolicy | undefined {
    const open = this.catalog.currentNow();
    if (open === 'unknown') return undefined;
    if (open === undefined) return OPEN;
    if (open.version !== this.known.version) return undefined;
    const relative = this.files.relativeOf(real);
    return this.known.entries.get(relative.slice(0, relative.length - path.extname(relative).length))?.policy;
  }

  async close(): Promise<void> {
    await this.catalog.close();
  }
}

async function ask(catalog: CatalogStore, identifier: string): Promise<Known> {
  const page = await catalog.pageByIdentifier(identifier);
  const withdrawn = page ? false : await catalog.isWithdrawnIdentifier(identifier);
  return { page, withdrawn, policy: page ? await catalog.objectAccess(page.objectId) : OPEN };
}
