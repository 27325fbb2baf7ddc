import { opendir, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { SidecarFormat } from '../search/model.js';
import { ocrSidecarName } from '../search/sidecar.js';
import { DEFAULT_VARIANTS, isVariantFolder, type VariantPreference } from './variants.js';

/**
 * Extensions of masters the pipeline converts (case-insensitive). JPEG 2000 comes as JP2 files
 * (.jp2, .jpx/.jpf, .jph for High-Throughput JPEG 2000) and as raw codestreams (.j2k, .j2c, .jpc,
 * and .jhc for HTJ2K). What a master is, once taken, is decided by its content, not its name.
 */
export const MASTER_EXTENSIONS = new Set(['.tif', '.tiff', '.jpg', '.jpeg', '.png', '.jp2', '.jpx', '.jpf', '.jph', '.j2k', '.j2c', '.jpc', '.jhc']);

/** Metadata sidecars read by the manifest service, not converted. */
const SIDECARS = new Set(['manifest.yml', 'manifest.yaml', 'manifest.json']);
/** A folder's own description, as a collection (see docs/metadata.md). */
export const COLLECTION_SIDECARS = ['collection.yml', 'collection.yaml', 'collection.json'];
export const COLLECTION_DESCRIPTION = 'collection description';
/** A folder's access policy for every object below it (see src/auth/policy.ts). */
export const ACCESS_FILES = ['access.yml', 'access.yaml', 'access.json'];
export const ACCESS_POLICY = 'access policy';
/** What scanners, desktops and people leave next to masters. */
const JUNK_NAMES = new Set(['thumbs.db', 'ehthumbs.db', 'desktop.ini', '.ds_store', 'icon\r', '.directory']);
const NOTE_EXTENSIONS = new Set(['.txt', '.md', '.rtf', '.doc', '.docx', '.pdf', '.xml', '.csv', '.log', '.nfo', '.xmp']);

export interface ScannedFile {
  /** Path relative to the masters root, with '/' separators. */
  readonly relativePath: string;
  readonly absolutePath: string;
  readonly size: number;
  readonly mtimeMs: number;
  /** A master's OCR sidecar: the file beside it with the same base name (`p-001.alto.xml`, `.hocr`, `.txt`). */
  readonly ocr?: OcrSidecar | undefined;
}

export interface OcrSidecar {
  readonly relativePath: string;
  readonly absolutePath: string;
  readonly format: SidecarFormat;
  readonly size: number;
  readonly mtimeMs: number;
}

export interface IgnoredFile {
  readonly relativePath: string;
  readonly reason: string;
}

export interface ScanResult {
  readonly masters: ScannedFile[];
  readonly ignored: IgnoredFile[];
}

/** Why a file is not a master, or undefined when it is one. */
export function ignoreReason(name: string): string | undefined {
  const lower = name.toLowerCase();
  if (JUNK_NAMES.has(lower)) return 'system file';
  if (lower.startsWith('._')) return 'macOS resource fork';
  if (lower.startsWith('~$') || lower.startsWith('.~lock')) return 'editor lock file';
  if (lower.startsWith('.')) return 'hidden file';
  if (SIDECARS.has(lower)) return 'metadata sidecar';
  if (COLLECTION_SIDECARS.includes(lower)) return COLLECTION_DESCRIPTION;
  if (ACCESS_FILES.includes(lower)) return ACCESS_POLICY;
  const ext = path.extname(lower);
  if (MASTER_EXTENSIONS.has(ext)) return undefined;
  if (NOTE_EXTENSIONS.has(ext)) return 'note or document';
  if (ext === '.tmp' || ext === '.part' || lower.endsWith('~')) return 'temporary file';
  return ext ? `not an image (${ext})` : 'not an image (no extension)';
}

/** One folder of the masters tree: its own files (not its subfolders'), and those of its variant folders (variants.ts). */
export interface ScannedFolder {
  /** Relative to the masters root, with '/' separators; '.' for the root. */
  readonly folder: string;
  readonly masters: ScannedFile[];
  readonly ignored: IgnoredFile[];
}

/**
 * Walks the masters tree a folder at a time (a folder's files, then its subfolders), holding only
 * the entries of the folders on the current path: every master file with its size and mtime (what
 * a re-run compares), and every other file with the reason it is skipped. Symbolic links to
 * folders are not followed (no loops); links to files are followed. Order is deterministic
 * (sorted names). The variant folders of an object (`master/`, `service/` …) come with their
 * object folder, as one folder: a bag is one object, never one per variant.
 */
export async function* scanFolders(root: string, variants: VariantPreference = DEFAULT_VARIANTS, read: FolderReader = readLocalFolder): AsyncGenerator<ScannedFolder> {
  async function* walk(relative: string): AsyncGenerator<ScannedFolder> {
    const { folder, subfolders } = await readFolder(root, relative, variants, read);
    yield folder;
    for (const name of subfolders) yield* walk(relative ? `${relative}/${name}` : name);
  }
  yield* walk('');
}

/**
 * One folder of the masters tree, `relative` to the root ('' or '.' for the root): its own files,
 * as scanFolders sees them, without walking its subfolders (the ingest of one object).
 */
export async function scanFolder(root: string, relative: string, variants: VariantPreference = DEFAULT_VARIANTS, read: FolderReader = readLocalFolder): Promise<ScannedFolder> {
  return (await readFolder(root, relative === '.' ? '' : relative, variants, read)).folder;
}

/**
 * Reads one folder's own files ('' for the root) and names its subfolders: a local folder
 * (readdir), or a prefix of an S3 bucket (pipeline/s3-masters.ts).
 */
export type FolderReader = (root: string, relative: string) => Promise<{ folder: ScannedFolder; subfolders: string[] }>;

/** A folder's files with those of its variant folders (their subfolders are walked as usual). */
async function readFolder(root: string, relative: string, variants: VariantPreference, readOneFolder: FolderReader = readLocalFolder): Promise<{ folder: ScannedFolder; subfolders: string[] }> {
  const own = await readOneFolder(root, relative);
  const variantFolders = own.subfolders.filter((name) => isVariantFolder(name, variants));
  if (variantFolders.length === 0) return own;
  const masters = [...own.folder.masters];
  const ignored = [...own.folder.ignored];
  const subfolders = own.subfolders.filter((name) => !variantFolders.includes(name));
  for (const name of variantFolders) {
    const variant = await readOneFolder(root, relative ? `${relative}/${name}` : name);
    masters.push(...variant.folder.masters);
    ignored.push(...variant.folder.ignored);
    subfolders.push(...variant.subfolders.map((sub) => `${name}/${sub}`));
  }
  return { folder: { folder: own.folder.folder, masters, ignored }, subfolders };
}

async function readLocalFolder(root: string, relative: string): Promise<{ folder: ScannedFolder; subfolders: string[] }> {
  const dir = relative ? path.join(root, ...relative.split('/')) : root;
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const masters: ScannedFile[] = [];
  const ignored: IgnoredFile[] = [];
  const subfolders: string[] = [];
  for (const entry of entries) {
    const absolutePath = path.join(dir, entry.name);
    const relativePath = relative ? `${relative}/${entry.name}` : entry.name;
    if (entry.isDirectory()) {
      if (entry.name.startsWith('.')) ignored.push({ relativePath: `${relativePath}/`, reason: 'hidden folder' });
      else subfolders.push(entry.name);
      continue;
    }
    const reason = ignoreReason(entry.name);
    if (reason) {
      ignored.push({ relativePath, reason });
      continue;
    }
    const info = await stat(absolutePath).catch(() => undefined);
    if (!info?.isFile()) {
      ignored.push({ relativePath, reason: info ? 'not a regular file' : 'broken link' });
      continue;
    }
    masters.push({ relativePath, absolutePath, size: info.size, mtimeMs: info.mtimeMs });
  }
  const paired = await pairOcrSidecars(dir, masters, ignored);
  return { folder: { folder: relative || '.', masters: paired.masters, ignored: paired.ignored }, subfolders };
}

/** A master's base name, the part its sidecars share: `p-001.tif` → `p-001` (lower case). */
const stemOf = (relativePath: string): string => path.posix.basename(relativePath).replace(/\.[^.]+$/, '').toLowerCase();

/**
 * Gives masters their OCR sidecar: among the folder's files that are not masters, the one named
 * like the master with an OCR ending (ALTO preferred, then hOCR, then plain text). Those are part
 * of the page, not ignored files; a second sidecar of the same page stays ignored, saying so.
 */
async function pairOcrSidecars(dir: string, masters: ScannedFile[], ignored: IgnoredFile[]): Promise<{ masters: ScannedFile[]; ignored: IgnoredFile[] }> {
  const stems = new Set(masters.map((m) => stemOf(m.relativePath)));
  const best = new Map<string, { file: IgnoredFile; format: SidecarFormat; rank: number }>();
  const candidates = new Set<IgnoredFile>();
  for (const file of ignored) {
    if (file.relativePath.endsWith('/')) continue;
    const sidecar = ocrSidecarName(path.posix.basename(file.relativePath));
    if (!sidecar || !stems.has(sidecar.stem)) continue;
    candidates.add(file);
    const current = best.get(sidecar.stem);
    if (!current || sidecar.rank < current.rank) best.set(sidecar.stem, { file, format: sidecar.format, rank: sidecar.rank });
  }
  if (candidates.size === 0) return { masters, ignored };
  const chosen = new Map<string, OcrSidecar>();
  for (const [stem, { file, format }] of best) {
    const absolutePath = path.join(dir, path.posix.basename(file.relativePath));
    const info = await stat(absolutePath).catch(() => undefined);
    if (info?.isFile()) chosen.set(stem, { relativePath: file.relativePath, absolutePath, format, size: info.size, mtimeMs: info.mtimeMs });
  }
  const used = new Set([...chosen.values()].map((c) => c.relativePath));
  return {
    masters: masters.map((m) => {
      const ocr = chosen.get(stemOf(m.relativePath));
      return ocr ? { ...m, ocr } : m;
    }),
    ignored: ignored.flatMap((file) => {
      if (used.has(file.relativePath)) return [];
      if (!candidates.has(file)) return [file];
      const stem = ocrSidecarName(path.posix.basename(file.relativePath))!.stem;
      const other = chosen.get(stem);
      return [other ? { relativePath: file.relativePath, reason: `OCR sidecar not used: ${path.posix.basename(other.relativePath)} is read for this page` } : file];
    }),
  };
}

/** The whole masters tree at once (see scanFolders): for plans that group files across folders. */
export async function scanMasters(root: string, variants: VariantPreference = DEFAULT_VARIANTS, read: FolderReader = readLocalFolder): Promise<ScanResult> {
  const masters: ScannedFile[] = [];
  const ignored: IgnoredFile[] = [];
  for await (const folder of scanFolders(root, variants, read)) {
    masters.push(...folder.masters);
    ignored.push(...folder.ignored);
  }
  return { masters, ignored };
}

/** How many files of the tree have a master's name: the size of a batch, known before it is planned. */
export async function countMasterNames(root: string): Promise<number> {
  let count = 0;
  // Depth first, one folder open at a time, its entries read in batches: a tree of millions of
  // files is never listed whole (opendir's own recursive mode opens every subfolder it meets at once).
  const folders = [root];
  for (let dir = folders.pop(); dir !== undefined; dir = folders.pop()) {
    for await (const entry of await opendir(dir, { bufferSize: 256 })) {
      if (entry.isDirectory()) {
        if (!entry.name.startsWith('.')) folders.push(path.join(dir, entry.name));
      } else if (ignoreReason(entry.name) === undefined) {
        count++;
      }
    }
  }
  return count;
}
