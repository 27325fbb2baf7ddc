import path from 'node:path';
import { lazySchema, type ZodApi } from '../lazy-zod.js';
import { parseFolderNames } from './naming.js';

/**
 * Variant selection for legacy bags: one page digitized several times (an edited master, the
 * master, a service copy), as sibling folders of the object (`master_edited/`, `master/`,
 * `service/`) or as suffixes on the same page name (`p001_me.tif`, `p001_m.tif`). The most
 * preferred variant of each page is converted; the others are reported, never converted.
 */
export interface VariantPreference {
  /** Names of variant folders inside an object folder, most preferred first (lower case). */
  readonly folders: readonly string[];
  /** Endings of a page's file name before its extension, most preferred first (lower case). */
  readonly suffixes: readonly string[];
}

/**
 * Without a `variants` setting: the role folders of digitization bags, the edited master first
 * (cropped, colour-corrected), then the master, then the service copy. An object folder holding
 * such folders is one object, never one object per role folder. No suffixes by default: a name
 * ending in `_m` may mean anything.
 */
export const DEFAULT_VARIANTS: VariantPreference = { folders: ['master_edited', 'master', 'service'], suffixes: [] };

const entry = (z: ZodApi, what: string, pattern: RegExp, hint: string) =>
  z
    .string()
    .min(1, `${what}: an empty name`)
    .regex(pattern, hint)
    .transform((s) => s.toLowerCase());
const unique = (list: readonly string[]): boolean => new Set(list).size === list.length;

/** The `variants:` section of a rules file (see rules.ts). */
export const variantsSchema = lazySchema((z) =>
  z
    .object({
      folders: z.array(entry(z, 'folder', /^[^/\\.][^/\\]*$/, "a folder name such as 'master' (no '/', not hidden)")).refine(unique, 'a folder is listed twice').default([]),
      suffixes: z.array(entry(z, 'suffix', /^[^/\\.]+$/, "an ending of the name before its extension, such as '_m' (no '/' or '.')")).refine(unique, 'a suffix is listed twice').default([]),
    })
    .strict()
    .refine((v) => v.folders.length + v.suffixes.length > 0, 'give folders and/or suffixes, most preferred first (an empty list turns the default folders off: folders: [] with a suffix)'),
);

/** Whether a folder (its last segment) is a variant folder: its masters are pages of the folder above. */
export function isVariantFolder(name: string, preference: VariantPreference): boolean {
  return preference.folders.includes(name.toLowerCase());
}

/** An object folder for a folder that may be a variant folder of one (`box/obj/master` → `box/obj`). */
export function objectFolderOf(folder: string, preference: VariantPreference): string {
  if (folder === '.' || !isVariantFolder(path.posix.basename(folder), preference)) return folder;
  const parent = path.posix.dirname(folder);
  return parent === '' ? '.' : parent;
}

/** The longest listed suffix the name (without its extension) ends with, leaving something before it. */
function suffixOf(stem: string, preference: VariantPreference): string | undefined {
  const lower = stem.toLowerCase();
  let found: string | undefined;
  for (const suffix of preference.suffixes) {
    if (lower.length > suffix.length && lower.endsWith(suffix) && (!found || suffix.length > found.length)) found = suffix;
  }
  return found;
}

const extension = (name: string): string => /\.[A-Za-z0-9]{1,5}$/.exec(name)?.[0] ?? '';

/** A page's name without its variant suffix (`p001_me.tif` → `p001.tif`), the same for every variant of it. */
export function withoutSuffix(name: string, preference: VariantPreference): string {
  const ext = extension(name);
  const stem = name.slice(0, name.length - ext.length);
  const suffix = suffixOf(stem, preference);
  return suffix ? `${stem.slice(0, stem.length - suffix.length)}${ext}` : name;
}

/**
 * How preferred a file is: its variant folder's place in the list, then its suffix's; files of no
 * listed variant come after the listed ones (a listed variant is chosen over them).
 */
function rankOf(relativePath: string, preference: VariantPreference): [number, number] {
  const folder = preference.folders.indexOf(path.posix.basename(path.posix.dirname(relativePath)).toLowerCase());
  const name = path.posix.basename(relativePath);
  const suffix = suffixOf(name.slice(0, name.length - extension(name).length), preference);
  return [folder < 0 ? preference.folders.length : folder, suffix === undefined ? preference.suffixes.length : preference.suffixes.indexOf(suffix)];
}

/** A variant not converted, and the one chosen for its page (paths under the masters root). */
export interface SkippedVariant {
  readonly object: string;
  readonly skipped: string;
  readonly chosen: string;
}

export interface VariantChoice<T> {
  /** The files to convert: every page's most preferred variant (in the order given). */
  readonly chosen: T[];
  readonly skipped: { readonly file: T; readonly chosen: T }[];
}

/**
 * Picks one variant per page among an object's files. Two files are the same page when their
 * names, suffix taken off, give the same page number and side (the folder's own convention, as
 * the page order reads it), or, without a number, the same name. `page` may give the page number
 * instead (naming rules). Files of equal rank for one page are all kept (a real duplicate, which
 * the naming anomalies report), so nothing is dropped that is not a lesser variant.
 */
export function selectVariants<T>(
  files: readonly T[],
  relativePathOf: (file: T) => string,
  preference: VariantPreference,
  page?: (file: T) => { readonly sequence?: number | undefined; readonly side?: string | undefined } | undefined,
): VariantChoice<T> {
  if (files.length < 2 || preference.folders.length + preference.suffixes.length === 0) return { chosen: [...files], skipped: [] };
  const names = files.map((f) => withoutSuffix(path.posix.basename(relativePathOf(f)), preference));
  const parsed = parseFolderNames(names);
  const keyOf = (i: number): string => {
    const given = page?.(files[i]!);
    const numbered = given?.sequence !== undefined ? given : parsed[i]!;
    return numbered.sequence !== undefined ? `#${numbered.sequence}${numbered.side ?? ''}` : `=${names[i]!.replace(/\.[^.]+$/, '').toLowerCase()}`;
  };
  const best = new Map<string, { rank: [number, number]; first: number }>();
  const keys = files.map((_, i) => keyOf(i));
  const ranks = files.map((f) => rankOf(relativePathOf(f), preference));
  const better = (a: [number, number], b: [number, number]): number => a[0] - b[0] || a[1] - b[1];
  keys.forEach((key, i) => {
    const current = best.get(key);
    if (!current || better(ranks[i]!, current.rank) < 0) best.set(key, { rank: ranks[i]!, first: i });
  });
  const chosen: T[] = [];
  const skipped: { file: T; chosen: T }[] = [];
  files.forEach((file, i) => {
    const top = best.get(keys[i]!)!;
    if (better(ranks[i]!, top.rank) === 0) chosen.push(file);
    else skipped.push({ file, chosen: files[top.first]! });
  });
  return { chosen, skipped };
}
