/**
 * Page order and naming anomalies of one folder of masters, from legacy file names alone.
 *
 * The sequence number of a page is one run of digits in its name. Which run depends on the folder's
 * convention: `fa002-box1-folder2-001` counts in its last run, `01-cover-rgb16` in its first. Per
 * folder, the position (first or last run) that tells the most names apart is the sequence; on a
 * tie, the one with the tighter numbering, then the last run, the usual place of a page number. A recto/verso letter right after the number
 * (`001r`, `001_v`, `12verso`) orders the sides of one leaf.
 */

export type Side = 'r' | 'v';

export interface ParsedName {
  readonly name: string;
  readonly sequence?: number | undefined;
  readonly side?: Side | undefined;
  /** The spelling around the number: the text before it, digits as '#', lower case. */
  readonly pattern: string;
}

export interface NamingAnomaly {
  readonly kind: 'gap' | 'duplicate' | 'mixed-patterns' | 'unnumbered';
  readonly detail: string;
}

const collator = new Intl.Collator('en', { numeric: true, sensitivity: 'base' });

/** Natural order: `page2` before `page10`, case and accents aside; ties broken by code points. */
export function naturalCompare(a: string, b: string): number {
  return collator.compare(a, b) || (a < b ? -1 : a > b ? 1 : 0);
}

const stem = (name: string): string => name.replace(/\.[A-Za-z0-9]{1,5}$/, '');

interface DigitRun {
  readonly value: number;
  readonly start: number;
  readonly end: number;
}

function digitRuns(text: string): DigitRun[] {
  return [...text.matchAll(/\d+/g)].map((m) => ({ value: Number(m[0]), start: m.index, end: m.index + m[0].length }));
}

function parseAt(name: string, pick: 'first' | 'last'): ParsedName {
  const text = stem(name);
  const runs = digitRuns(text);
  const run = pick === 'first' ? runs[0] : runs[runs.length - 1];
  if (!run) return { name, pattern: '' };
  const after = /^[\s_.-]?(recto|verso|r|v)$/i.exec(text.slice(run.end));
  const side = after ? (after[1]!.toLowerCase().startsWith('r') ? 'r' : 'v') : undefined;
  const pattern = text.slice(0, run.start).toLowerCase().replace(/\d+/g, '#');
  return { name, sequence: run.value, side, pattern };
}

/** Parses every name of one folder with the sequence position that suits the folder. */
export function parseFolderNames(names: readonly string[]): ParsedName[] {
  const distinct = (parsed: ParsedName[]): number => new Set(parsed.map((p) => `${p.sequence}${p.side ?? ''}`)).size;
  const span = (parsed: ParsedName[]): number => {
    let [low, high] = [Infinity, -Infinity];
    for (const p of parsed) if (p.sequence !== undefined) [low, high] = [Math.min(low, p.sequence), Math.max(high, p.sequence)];
    return high >= low ? high - low : 0;
  };
  const last = names.map((n) => parseAt(n, 'last'));
  const first = names.map((n) => parseAt(n, 'first'));
  // Equally distinct: the tighter numbering is the page count (01…10 rather than 1, 3, 16 of `rgb16`, `p3`).
  const d = distinct(first) - distinct(last);
  return d > 0 || (d === 0 && span(first) < span(last)) ? first : last;
}

const sideRank = (side: Side | undefined): number => (side === undefined ? 0 : side === 'r' ? 1 : 2);

/**
 * Orders the pages of one folder: by sequence number, recto before verso, then naturally by name;
 * names without a number come after the numbered ones, in natural order.
 */
export function orderPages<T extends { readonly name: string }>(members: readonly T[]): T[] {
  const parsed = new Map(parseFolderNames(members.map((m) => m.name)).map((p) => [p.name, p]));
  return [...members].sort((a, b) => {
    const pa = parsed.get(a.name)!;
    const pb = parsed.get(b.name)!;
    if (pa.sequence !== undefined && pb.sequence !== undefined && pa.sequence !== pb.sequence) return pa.sequence - pb.sequence;
    if (pa.sequence !== undefined && pb.sequence === undefined) return -1;
    if (pa.sequence === undefined && pb.sequence !== undefined) return 1;
    return sideRank(pa.side) - sideRank(pb.side) || naturalCompare(a.name, b.name);
  });
}

function ranges(numbers: number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < numbers.length; ) {
    let j = i;
    while (j + 1 < numbers.length && numbers[j + 1] === numbers[j]! + 1) j++;
    parts.push(j === i ? String(numbers[i]) : `${numbers[i]}–${numbers[j]}`);
    i = j + 1;
  }
  return parts.join(', ');
}

/** At most this many missing numbers are listed one by one in a gap's detail. */
const GAP_LIST_LIMIT = 1000;

/**
 * What an archivist should look at in one folder: gaps in the numbering, two files with the same
 * number (and side), several spellings of the names, and files without a number among numbered ones.
 */
export function namingAnomalies(names: readonly string[]): NamingAnomaly[] {
  const parsed = parseFolderNames(names);
  const numbered = parsed.filter((p) => p.sequence !== undefined);
  const anomalies: NamingAnomaly[] = [];

  const numbers = [...new Set(numbered.map((p) => p.sequence!))].sort((a, b) => a - b);
  if (numbers.length >= 2) {
    const span = numbers[numbers.length - 1]! - numbers[0]! + 1;
    if (span > numbers.length) {
      const present = new Set(numbers);
      const missing: number[] = [];
      for (let n = numbers[0]!; n <= numbers[numbers.length - 1]! && missing.length < GAP_LIST_LIMIT; n++) if (!present.has(n)) missing.push(n);
      anomalies.push({ kind: 'gap', detail: `missing ${span - numbers.length === 1 ? 'number' : 'numbers'} ${ranges(missing)}${span - numbers.length > missing.length ? ', …' : ''}` });
    }
  }

  const byKey = new Map<string, string[]>();
  for (const p of numbered) {
    const key = `${p.sequence}${p.side ?? ''}`;
    byKey.set(key, [...(byKey.get(key) ?? []), p.name]);
  }
  for (const [key, same] of byKey) {
    if (same.length > 1) anomalies.push({ kind: 'duplicate', detail: `number ${key} is used by ${same.map((n) => `'${n}'`).join(', ')}` });
  }

  const patterns = new Map<string, string[]>();
  for (const p of numbered) patterns.set(p.pattern, [...(patterns.get(p.pattern) ?? []), p.name]);
  if (patterns.size > 1) {
    const list = [...patterns].map(([pattern, members]) => `'${pattern}#' (${members.length}, e.g. '${members[0]}')`);
    anomalies.push({ kind: 'mixed-patterns', detail: `${patterns.size} spellings of the names: ${list.join('; ')}` });
  }

  const unnumbered = parsed.filter((p) => p.sequence === undefined);
  if (numbered.length > 0 && unnumbered.length > 0) {
    const shown = unnumbered.slice(0, 10).map((p) => `'${p.name}'`).join(', ');
    anomalies.push({ kind: 'unnumbered', detail: `no page number in ${shown}${unnumbered.length > 10 ? ', …' : ''}; placed after the numbered pages` });
  }
  return anomalies;
}
