import path from 'node:path';
import type { GivenIdentifier } from '../catalog/catalog.js';
import { namingAnomalies, naturalCompare, orderPages, type NamingAnomaly } from './naming.js';
import { applyRules, type NameRule } from './rules.js';
import type { IgnoredFile, ScannedFile, ScannedFolder, ScanResult } from './scan.js';
import { DEFAULT_VARIANTS, selectVariants, withoutSuffix, type SkippedVariant, type VariantPreference } from './variants.js';

export interface PlannedPage {
  readonly source: ScannedFile;
  /** Directory index of the page inside its file (multi-page TIFF); 0 for other files. */
  readonly sourcePage: number;
  /** Image API identifier of the derivative: `<object>/<page>`. */
  readonly identifier: string;
}

export interface PlannedObject {
  readonly id: string;
  /** The folder the object comes from, relative to the masters root ('.' for the root). */
  readonly folder: string;
  /** Pages in reading order. */
  readonly pages: PlannedPage[];
}

export interface Anomaly {
  readonly object: string;
  /** A naming anomaly of the object's masters, a problem with its descriptive metadata or its access policy, or an OCR sidecar that cannot be read. */
  readonly kind: NamingAnomaly['kind'] | 'metadata' | 'access' | 'ocr';
  readonly detail: string;
}

export interface Plan {
  readonly objects: PlannedObject[];
  readonly ignored: IgnoredFile[];
  readonly anomalies: Anomaly[];
  /** Versions of a page not converted because a more preferred one is (variants.ts). */
  readonly variantsSkipped: SkippedVariant[];
}

/** Which directories of a master are pages (several for a multi-page TIFF). */
export type PageCounter = (file: ScannedFile) => Promise<readonly number[]>;

/** A URL- and file-system-safe form of a legacy name: accents dropped, runs of other characters → '-'. */
export function slug(name: string): string {
  const s = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^[-.]+|[-.]+$/g, '');
  return s || 'untitled';
}

/**
 * The identifiers given before (the catalog's), which pages keep for good: a published identifier
 * must not move to another master because a folder was added, removed or renamed.
 */
export interface IdentifierLedger {
  /** `source`: the master's path under the masters folder, so that moving the folder keeps them. */
  givenIdentifier(source: string, sourcePage: number): GivenIdentifier | undefined;
  objectIdTaken(id: string): boolean;
  identifierTaken(identifier: string): boolean;
}

/** An identifier given to a page of a master by this run. */
export interface NewIdentifier extends GivenIdentifier {
  /** The master's path under the masters folder. */
  readonly source: string;
  readonly sourcePage: number;
}

/** `wanted`, or the first of wanted-2, wanted-3 … that is free (case-insensitively), marked taken. */
function uniqueName(wanted: string, taken: Set<string>, takenBefore: (name: string) => boolean = () => false): string {
  let name = wanted;
  for (let n = 2; taken.has(name.toLowerCase()) || takenBefore(name); n++) name = `${wanted}-${n}`;
  taken.add(name.toLowerCase());
  return name;
}

interface Member {
  readonly name: string;
  readonly file: ScannedFile;
  readonly sequence?: number | undefined;
  readonly side?: 'r' | 'v' | undefined;
  /** The object's id as a naming rule spelled it. */
  readonly object?: string | undefined;
}

export interface PlanOptions {
  /** The root folder's object id when it holds masters itself. */
  readonly rootName: string;
  /** Identifiers given by earlier runs: kept, and never given to another page. */
  readonly ledger?: IdentifierLedger | undefined;
  /** Records the identifiers given now, an object's at a time (absent in a dry run). */
  readonly give?: ((pages: readonly NewIdentifier[]) => void | Promise<void>) | undefined;
  /** Which version of a page is converted when an object holds several (default: DEFAULT_VARIANTS). */
  readonly variants?: VariantPreference | undefined;
}

/**
 * Groups masters into objects and orders their pages. Default convention: one folder = one object,
 * pages in the order of the sequence numbers in their names (natural order otherwise). With naming
 * rules, the rules give each file its object and sequence instead, and unmatched files are ignored.
 */
export async function planConversion(scan: ScanResult, countPages: PageCounter, options: PlanOptions & { rules?: readonly NameRule[] | undefined }): Promise<Plan> {
  const ignored = [...scan.ignored];
  const groups = new Map<string, { folder: string; members: Member[] }>();
  for (const file of scan.masters) {
    const name = path.posix.basename(file.relativePath);
    let key: string;
    let folder = path.posix.dirname(file.relativePath);
    let member: Member = { name, file };
    if (options.rules) {
      const match = applyRules(options.rules, file.relativePath);
      if (!match) {
        ignored.push({ relativePath: file.relativePath, reason: 'matches no naming rule' });
        continue;
      }
      // The rules match case-insensitively by default, and legacy names mix cases: MS12 and ms12 are one object.
      key = match.object.toLowerCase();
      member = { name, file, sequence: match.sequence, side: match.side, object: match.object };
    } else {
      key = folder === '.' ? options.rootName : folder;
    }
    let group = groups.get(key);
    if (!group) groups.set(key, (group = { folder, members: [] }));
    else if (group.folder !== folder) group.folder = '.';
    group.members.push(member);
  }

  const objects: PlannedObject[] = [];
  const anomalies: Anomaly[] = [];
  const variantsSkipped: SkippedVariant[] = [];
  const takenIds = new Set<string>();
  for (const key of [...groups.keys()].sort(naturalCompare)) {
    const planned = await planObject(key, groups.get(key)!, countPages, { ...options, rules: options.rules !== undefined, takenIds });
    objects.push(planned.object);
    anomalies.push(...planned.anomalies);
    variantsSkipped.push(...planned.variantsSkipped);
  }
  return { objects, ignored, anomalies, variantsSkipped };
}

/** One folder of the scan, planned: its object (when it holds masters) and its naming anomalies. */
export interface PlannedFolder {
  readonly folder: ScannedFolder;
  readonly object?: PlannedObject | undefined;
  readonly anomalies: Anomaly[];
  readonly variantsSkipped: SkippedVariant[];
}

/**
 * The default convention (one folder = one object), planned a folder at a time as the scan walks
 * the tree: memory holds one object's pages, whatever the size of the batch. Object ids already
 * given this run are the only thing kept across folders.
 */
export async function* planFolders(folders: AsyncIterable<ScannedFolder>, countPages: PageCounter, options: PlanOptions): AsyncGenerator<PlannedFolder> {
  const takenIds = new Set<string>();
  for await (const folder of folders) {
    if (folder.masters.length === 0) {
      yield { folder, anomalies: [], variantsSkipped: [] };
      continue;
    }
    const key = folder.folder === '.' ? options.rootName : folder.folder;
    const members = folder.masters.map((file) => ({ name: path.posix.basename(file.relativePath), file }));
    yield { folder, ...(await planObject(key, { folder: folder.folder, members }, countPages, { ...options, rules: false, takenIds })) };
  }
}

/** Plans one object: its id (kept from earlier runs, or the next free one), its pages in order and their identifiers. */
async function planObject(
  key: string,
  group: { readonly folder: string; readonly members: readonly Member[] },
  countPages: PageCounter,
  options: PlanOptions & { readonly rules: boolean; readonly takenIds: Set<string> },
): Promise<{ object: PlannedObject; anomalies: Anomaly[]; variantsSkipped: SkippedVariant[] }> {
  const takenIds = options.takenIds;
  const anomalies: Anomaly[] = [];
  const variants = options.variants ?? DEFAULT_VARIANTS;
  // One version of each page: the others are reported once the object has its id.
  const choice = selectVariants(group.members, (m) => m.file.relativePath, variants, options.rules ? (m) => m : undefined);
  const ordered = options.rules ? orderByRule(choice.chosen) : orderPages(choice.chosen);
  const directories = await Promise.all(ordered.map((member) => countPages(member.file)));
  // An object keeps the id its pages were published under (the first page that has one says which).
  const earlier = ordered
    .flatMap((member, i) => directories[i]!.map((directory) => options.ledger?.givenIdentifier(member.file.relativePath, directory)?.objectId))
    .find((given) => given !== undefined && !takenIds.has(given.toLowerCase()));
  const wanted = (ordered[0]?.object ?? key).split('/').map(slug).join('/');
  const id = earlier ?? uniqueName(wanted, takenIds, (name) => options.ledger?.objectIdTaken(name) ?? false);
  if (earlier) takenIds.add(earlier.toLowerCase());
  if (!options.rules) {
    for (const anomaly of namingAnomalies(choice.chosen.map((m) => m.name))) anomalies.push({ object: id, ...anomaly });
  }
  const variantsSkipped = choice.skipped.map(({ file, chosen }) => ({ object: id, skipped: file.file.relativePath, chosen: chosen.file.relativePath }));
  // Pages given an identifier before keep it; new ones take the next free name, never one given before.
  const takenPages = new Set<string>();
  const planned = ordered.flatMap((member, m) => {
    // Named without its variant suffix: the page keeps its name whichever version is converted.
    const base = slug(withoutSuffix(member.name, variants).replace(/\.[^.]+$/, ''));
    return directories[m]!.map((directory, i) => {
      const given = options.ledger?.givenIdentifier(member.file.relativePath, directory)?.identifier;
      if (given?.toLowerCase().startsWith(`${id.toLowerCase()}/`)) takenPages.add(given.slice(id.length + 1).toLowerCase());
      return { member, directory, given, name: directories[m]!.length > 1 ? `${base}-p${String(i + 1).padStart(3, '0')}` : base };
    });
  });
  const given: NewIdentifier[] = [];
  const pages: PlannedPage[] = planned.map(({ member, directory, given: earlierPage, name }) => {
    let identifier = earlierPage;
    if (identifier === undefined) {
      identifier = `${id}/${uniqueName(name, takenPages, (page) => options.ledger?.identifierTaken(`${id}/${page}`) ?? false)}`;
      given.push({ source: member.file.relativePath, sourcePage: directory, objectId: id, identifier });
    }
    return { source: member.file, sourcePage: directory, identifier };
  });
  if (given.length > 0) await options.give?.(given);
  return { object: { id, folder: group.folder, pages }, anomalies, variantsSkipped };
}

function orderByRule(members: readonly Member[]): Member[] {
  const sideRank = (side: 'r' | 'v' | undefined): number => (side === undefined ? 0 : side === 'r' ? 1 : 2);
  return [...members].sort((a, b) => {
    if (a.sequence !== undefined && b.sequence !== undefined && a.sequence !== b.sequence) return a.sequence - b.sequence;
    if (a.sequence !== undefined && b.sequence === undefined) return -1;
    if (a.sequence === undefined && b.sequence !== undefined) return 1;
    return sideRank(a.side) - sideRank(b.side) || naturalCompare(a.file.relativePath, b.file.relativePath);
  });
}
