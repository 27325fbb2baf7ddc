import path from 'node:path';
import { isS3Url } from '../storage/s3-location.js';
import type { CatalogStore } from '../catalog/store.js';
import type { PageTarget } from '../pipeline/page-step.js';
import type { VariantPreference } from '../pipeline/variants.js';

/** What the ingest jobs work with: the masters root, the data folder's catalog (a writing connection) and where pages go. */
export interface IngestContext {
  /** The masters root (an absolute path, or an s3:// URL without a trailing '/'): object folders are relative to it. */
  readonly masters: string;
  readonly catalog: CatalogStore;
  readonly target: PageTarget;
  /** Which version of a page is converted (absent: the default role folders). */
  readonly variants?: VariantPreference | undefined;
}

/** The temporary folder of the ingest workers, under the data folder (apart from `vitrine convert`'s .tmp, which a batch sweeps). */
export const INGEST_TEMP_DIR = '.tmp-ingest';

/**
 * An object folder as given to the API (relative to the masters root, '/' separators), checked
 * and normalised: not absolute, no '..', no empty or hidden segments. '.' or '' is the root itself.
 */
export function normaliseFolder(given: string): { folder: string } | { error: string } {
  if (given.includes('\0')) return { error: 'contains a NUL character' };
  const slashed = given.replace(/\\/g, '/');
  if (slashed.startsWith('/') || /^[A-Za-z]:/.test(slashed)) return { error: 'must be relative to the masters root, not absolute' };
  const segments = slashed.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.includes('..')) return { error: "must stay under the masters root (no '..')" };
  if (segments.some((s) => s.startsWith('.'))) return { error: 'names a hidden folder (the conversion skips those)' };
  return { folder: segments.length === 0 ? '.' : segments.join('/') };
}

/** The absolute path (or s3:// URL) of a folder or master under the masters root. */
export function underMasters(masters: string, relative: string): string {
  if (relative === '.') return masters;
  return isS3Url(masters) ? `${masters}/${relative}` : path.join(masters, ...relative.split('/'));
}
