import { sha256Master } from './convert.js';

/** Masters whose checksum is kept: a batch works through one object's masters at a time, so a few suffice. */
const KEPT = 1024;

/** What names one version of a master: where it is, and its size and modification time. */
export interface MasterVersion {
  /** The master's own path or URL (an object in S3 is hashed from its local copy, `file`). */
  readonly absolutePath: string;
  readonly size: number;
  readonly mtimeMs: number;
}

/**
 * SHA-256 of masters, each version read once however many of its pages are converted: a
 * multi-page TIFF of 50 pages was hashed 50 times, once per page, which cost as much CPU as
 * converting them. A version is its path, size and modification time, what decides that a page
 * is up to date (page-step.ts, isUpToDate): a file replaced is a new version, hashed again. Pages of
 * one master converted at once share the one read. A failed read is not kept: the next page tries again.
 */
export class MasterChecksums {
  private readonly known = new Map<string, Promise<string>>();
  /** Masters read to be hashed (for tests and debugging). */
  reads = 0;

  /** The checksum of `master`, read from `file` (its local copy, when it is an object in S3) unless known. */
  of(master: MasterVersion, file: string): Promise<string> {
    const key = `${master.size}:${master.mtimeMs}:${master.absolutePath}`;
    const known = this.known.get(key);
    if (known) return known;
    this.reads++;
    const checksum = sha256Master(file);
    checksum.catch(() => this.known.delete(key));
    if (this.known.size >= KEPT) this.known.delete(this.known.keys().next().value!);
    this.known.set(key, checksum);
    return checksum;
  }
}
