import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { pageDirectories } from './pages.js';
import type { PageCounter } from './plan.js';
import type { FolderReader } from './scan.js';

/**
 * Where a conversion reads masters and puts derivatives: local folders (the default), or S3
 * prefixes (s3-stores.ts). The pipeline itself only ever converts local files: a master in S3 is
 * downloaded to a temporary file for the page it makes, and a derivative is written locally and
 * then published (uploaded) whole.
 */
export interface MasterStore {
  /** Reads the tree a folder at a time (absent: the local folder reader of scan.ts). */
  readonly readFolder?: FolderReader | undefined;
  /**
   * A local folder laid out as the masters tree where the sidecars (manifest.yml, collection.yml,
   * access.yml) the reader met are, for the readers of those files (absent: the masters folder itself).
   */
  readonly sidecarRoot?: string | undefined;
  /**
   * Whether a folder (relative to the masters root, '/' separators, '.' for the root) has anything
   * in it; absent: a local folder, which the caller stats (links and non-folders matter there).
   */
  readonly hasFolder?: ((relative: string) => Promise<boolean>) | undefined;
  /** Which directories of a master are pages (reads its header only). */
  readonly countPages: PageCounter;
  /** A local file with the master's bytes, until `release()` (which removes a download). */
  local(source: { readonly absolutePath: string; readonly size: number }): Promise<{ readonly path: string; release(): Promise<void> }>;
}

export interface DerivativeStore {
  /** Whether the derivative recorded for a master with this checksum is in place (a file, or an object stamped with it). */
  there(derivativePath: string, masterSha256: string): Promise<boolean>;
  /** Where the converter writes the derivative: its final path for a folder, a local staging file otherwise. */
  staging(derivativePath: string, tempDir: string): string;
  /** Makes the staged derivative visible under its final name, whole (nothing to do for a folder). */
  publish(staging: string, derivativePath: string, masterSha256: string): Promise<void>;
  /** Removes a derivative if it is there (the other format's file of a page). */
  remove(derivativePath: string): Promise<void>;
}

export interface PageStores {
  readonly masters: MasterStore;
  readonly derivatives: DerivativeStore;
  /** Connections to give back once the run is over. */
  close(): void;
}

export const LOCAL_MASTERS: MasterStore = {
  countPages: pageDirectories,
  local: async (source) => ({ path: source.absolutePath, release: async () => undefined }),
};

export const LOCAL_DERIVATIVES: DerivativeStore = {
  there: async (derivativePath) => existsSync(derivativePath),
  staging: (derivativePath) => derivativePath,
  publish: async () => undefined,
  remove: (derivativePath) => rm(derivativePath, { force: true }),
};

export const LOCAL_STORES: PageStores = { masters: LOCAL_MASTERS, derivatives: LOCAL_DERIVATIVES, close: () => undefined };
