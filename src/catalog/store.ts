import type { AccessPolicy } from '../auth/policy.js';
import type { ActivityRecord } from './activities.js';
import type { CollectionRecord, GivenIdentifier, MetadataRecord, ObjectRecord, PageRecord, Withdrawal } from './catalog.js';
import type { CollectionMetadata, ObjectMetadata } from './metadata.js';

/** A value, or a promise of it: the embedded SQLite catalog answers at once, a catalog server after a round trip. */
export type Awaitable<T> = T | Promise<T>;

/** The identifiers given before, as the planner reads them (synchronously, while it names pages). */
export interface IdentifierLedger {
  /** `source`: the master's path under the masters folder, so that moving the folder keeps them. */
  givenIdentifier(source: string, sourcePage: number): GivenIdentifier | undefined;
  objectIdTaken(id: string): boolean;
  identifierTaken(identifier: string): boolean;
}

/** A page of a master given its identifiers now. */
export type IdentifierGrant = GivenIdentifier & { readonly source: string; readonly sourcePage: number };

/** A page order entry: which source page, in the order given. */
export interface PageKey {
  readonly sourcePath: string;
  readonly sourcePage: number;
}

/**
 * The catalog as every part of Vitrine uses it, whatever keeps it: the embedded SQLite file
 * (`Catalog`) or PostgreSQL (`PostgresCatalog`). Callers await every answer. What one method writes is
 * written in one transaction, with its Change Discovery activity.
 */
export interface CatalogStore {
  /** Where the catalog is, for messages (a file, or a PostgreSQL URL without its password). */
  readonly location: string;
  /** A key that changes whenever another connection commits to the catalog: readers cache under it. */
  changeVersion(): Awaitable<string>;

  page(sourcePath: string, sourcePage: number): Awaitable<PageRecord | undefined>;
  pageByIdentifier(identifier: string): Awaitable<PageRecord | undefined>;
  /** Records a converted page (IdentifierConflictError when its identifier belongs to another master's page). */
  recordPage(page: PageRecord): Awaitable<void>;
  removePage(sourcePath: string, sourcePage: number): Awaitable<void>;
  /** An object's pages in reading order. */
  pages(objectId: string): Awaitable<PageRecord[]>;

  /** A catalog from before identifiers were kept: its pages keep what they were published under. */
  adoptPublishedIdentifiers(mastersRoot: string): Awaitable<void>;
  /** The identifiers given so far, for the planner; the ledger sees what giveIdentifiers adds through this store. */
  identifierLedger(): Awaitable<IdentifierLedger>;
  /** Gives pages of masters their identifiers, for good (in one transaction). */
  giveIdentifiers(pages: readonly IdentifierGrant[]): Awaitable<void>;

  /** Every object, in natural order of their ids. */
  objects(): Awaitable<ObjectRecord[]>;
  object(id: string): Awaitable<ObjectRecord | undefined>;
  /** Sets an object's page order (pages not listed go), with its activity. */
  setObjectPages(object: { id: string; folder: string }, pages: readonly PageKey[]): Awaitable<void>;
  /** setObjectPages and, when given, its descriptive metadata, with one activity for the whole change. */
  recordObject(object: { id: string; folder: string }, pages: readonly PageKey[], described?: { metadata: ObjectMetadata; sources: readonly string[] }): Awaitable<void>;
  setObjectMetadata(id: string, metadata: ObjectMetadata, sources: readonly string[]): Awaitable<void>;
  objectMetadata(id: string): Awaitable<MetadataRecord | undefined>;
  /** Every object's descriptive metadata, by object id (one query, for the collection tree). */
  allObjectMetadata(): Awaitable<Map<string, ObjectMetadata>>;
  /** Withdraws an object (pages, row, description; a Delete activity); its identifiers stay its own. */
  withdrawObject(id: string, options?: { removeDerivatives?: boolean }): Promise<Withdrawal>;
  isWithdrawn(id: string): Awaitable<boolean>;
  isWithdrawnIdentifier(identifier: string): Awaitable<boolean>;

  setObjectAccess(id: string, policy: AccessPolicy, sources: readonly string[]): Awaitable<void>;
  objectAccess(id: string): Awaitable<AccessPolicy>;

  setCollectionMetadata(covered: Iterable<string>, described: ReadonlyMap<string, { metadata: CollectionMetadata; sources: readonly string[] }>): Awaitable<void>;
  collectionMetadata(): Awaitable<Map<string, CollectionRecord>>;
  collectionRecord(path: string): Awaitable<CollectionRecord | undefined>;

  activityCount(): Awaitable<number>;
  activities(offset: number, limit: number): Awaitable<ActivityRecord[]>;

  close(): Awaitable<void>;
}

/** The catalog as a server sees it at one moment: the store, and the version its answers belong to. */
export interface CatalogView {
  readonly store: CatalogStore;
  /** Changes whenever the catalog does (a commit, or the catalog replaced). */
  readonly version: string;
}

/** A server's long-lived access to a catalog, which may not exist yet (nothing converted). */
export interface CatalogSource {
  readonly location: string;
  current(): Promise<CatalogView | undefined>;
  /**
   * The same without waiting, for the image fast path: the catalog and its version when they are
   * known to be current now, undefined when there is no catalog, 'unknown' when finding out needs
   * a round trip (the caller then takes the path that awaits current()).
   */
  currentNow(): CatalogView | undefined | 'unknown';
  close(): Promise<void>;
}
