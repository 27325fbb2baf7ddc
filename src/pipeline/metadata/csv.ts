import { readFile } from 'node:fs/promises';
import { CsvError, parse } from 'csv-parse/sync';
import { MetadataError } from './description.js';

/**
 * The text of a CSV file as spreadsheets save it: UTF-16 (little or big endian) or UTF-8 when a
 * byte order mark says so, else UTF-8 when the bytes are valid UTF-8, else Windows-1252 (what Excel
 * on Windows writes as "CSV": é is the single byte 0xE9, never valid UTF-8 before a letter).
 */
export function decodeCsv(bytes: Uint8Array): { text: string; encoding: string } {
  const starts = (...prefix: number[]): boolean => prefix.every((b, i) => bytes[i] === b);
  let encoding: string;
  if (starts(0xef, 0xbb, 0xbf)) encoding = 'utf-8';
  else if (starts(0xff, 0xfe)) encoding = 'utf-16le';
  else if (starts(0xfe, 0xff)) encoding = 'utf-16be';
  else {
    try {
      return { text: new TextDecoder('utf-8', { fatal: true }).decode(bytes), encoding: 'utf-8' };
    } catch {
      encoding = 'windows-1252';
    }
  }
  // TextDecoder drops the byte order mark it recognises.
  const text = new TextDecoder(encoding).decode(bytes);
  return { text: encoding === 'windows-1252' ? fixC1(text) : text, encoding };
}

/**
 * Windows-1252's bytes 0x80–0x9F (€ ‚ ƒ „ … † ‡ ˆ ‰ Š ‹ Œ Ž ‘ ’ “ ” • – — ˜ ™ š › œ ž Ÿ). Node 20's
 * TextDecoder('windows-1252') decodes them as Latin-1 control characters (U+0080–U+009F), so the
 * curly quotes and € of every Excel file would be lost; the five undefined bytes stay as they are.
 */
const C1 = '€\u0081‚ƒ„…†‡ˆ‰Š‹Œ\u008dŽ\u008f\u0090‘’“”•–—˜™š›œ\u009džŸ';
const fixC1 = (text: string): string => text.replace(/[\u0080-\u009f]/g, (c) => C1[c.charCodeAt(0) - 0x80]!);

/**
 * The rows of a CSV (RFC 4180 as spreadsheets write it: quoted fields with doubled quotes and line
 * breaks, CRLF or LF), parsed by csv-parse. The delimiter (comma, semicolon or tab) is the one the
 * header line uses most. Row n of the result is row n+1 of the spreadsheet: blank lines are kept
 * (as empty rows), and a quoted line break does not start a row.
 */
export function parseCsv(text: string): string[][] {
  const input = text.replace(/^\uFEFF/, '');
  const headerEnd = input.search(/\r?\n/);
  const header = headerEnd === -1 ? input : input.slice(0, headerEnd);
  const count = (c: string): number => header.split(c).length - 1;
  const delimiter = [',', ';', '\t'].reduce((best, c) => (count(c) > count(best) ? c : best), ',');
  try {
    // relax_quotes: a quote inside an unquoted cell (5" floppy) is a character, as spreadsheets read it.
    return parse(input, { delimiter, relax_column_count: true, relax_quotes: true, skip_empty_lines: false }) as string[][];
  } catch (error) {
    if (!(error instanceof CsvError)) throw error;
    // `records` counts the rows completed before the faulty one.
    const row = ((error as CsvError & { records?: number }).records ?? 0) + 1;
    const reason =
      error.code === 'CSV_QUOTE_NOT_CLOSED' ? 'a quoted field is not closed' : error.message.replace(/ at line \d+/, '').replace(/^[\w ]+: /, '');
    throw new MetadataError(`row ${row}: ${reason}`);
  }
}

/** One row of a batch CSV: the object it names, and its description in the sidecar's shape. */
export interface CsvDescription {
  /** The object as the row names it (an object id, or its folder under the masters). */
  readonly object: string;
  /** `file.csv row N` (N counts lines of the spreadsheet, the header being row 1). */
  readonly source: string;
  readonly description: Record<string, unknown>;
}

const KEY_COLUMNS = ['object', 'id', 'folder'];
/** Columns with several values separated by '|'. */
const LISTS = new Set(['behavior', 'homepage', 'seealso', 'pages']);
const FIELDS: Record<string, string> = {
  label: 'label',
  summary: 'summary',
  rights: 'rights',
  navdate: 'navDate',
  behavior: 'behavior',
  viewingdirection: 'viewingDirection',
  homepage: 'homepage',
  seealso: 'seeAlso',
  pages: 'pages',
};
const split = (value: string): string[] =>
  value
    .split('|')
    .map((v) => v.trim())
    .filter((v) => v !== '');

/**
 * A batch CSV: one row per object. Known columns (case-insensitive) map to the fields of the same
 * name; `label@fr`, `summary@de`, `Title@fr` give a language; every other column becomes a
 * metadata entry labelled with its header. See docs/metadata.md.
 */
export async function readMetadataCsv(file: string): Promise<CsvDescription[]> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (error) {
    throw new MetadataError(`metadata file ${file}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found' : (error as Error).message}`);
  }
  let rows: string[][];
  try {
    rows = parseCsv(decodeCsv(bytes).text);
  } catch (error) {
    throw new MetadataError(`metadata file ${file}: ${(error as Error).message}`);
  }
  const [header, ...body] = rows;
  if (!header || header.every((cell) => cell.trim() === '')) throw new MetadataError(`metadata file ${file}: empty`);
  const columns = header.map((h) => {
    const raw = h.trim();
    const at = raw.lastIndexOf('@');
    const [name, language] = at > 0 ? [raw.slice(0, at).trim(), raw.slice(at + 1).trim()] : [raw, undefined];
    return { raw, name, key: name.toLowerCase(), language };
  });
  const keyColumn = columns.findIndex((c) => KEY_COLUMNS.includes(c.key));
  if (keyColumn === -1) throw new MetadataError(`metadata file ${file}: no 'object' column (the object id or folder of each row)`);
  const base = file.split(/[\\/]/).pop() ?? file;

  // Blank rows are skipped, but still counted: `row N` is the row the spreadsheet shows.
  const described = body.map((cells, r) => ({ cells, row: r + 2 })).filter(({ cells }) => cells.some((cell) => cell.trim() !== ''));
  return described.map(({ cells, row }) => {
    const source = `${base} row ${row}`;
    const get = (i: number): string => (cells[i] ?? '').trim();
    const languageColumn = columns.findIndex((c) => c.key === 'language' && c.language === undefined);
    const language = languageColumn === -1 ? undefined : get(languageColumn) || undefined;
    const lang = (c: { language: string | undefined }): string => c.language ?? language ?? 'none';
    const d: Record<string, unknown> = {};
    const maps: Record<string, Record<string, string[]>> = {};
    const metadata = new Map<string, Record<string, string[]>>();
    const required: { label?: string; value: Record<string, string[]> } = { value: {} };
    const provider: Record<string, string> = {};
    columns.forEach((c, i) => {
      const value = get(i);
      if (value === '' || i === keyColumn || i === languageColumn) return;
      if (c.key === 'label' || c.key === 'summary') (maps[c.key] ??= {})[lang(c)] = [value];
      else if (c.key === 'requiredstatement') required.value[lang(c)] = [value];
      else if (c.key === 'requiredstatement.label') required.label = value;
      else if (c.key === 'provider' || c.key === 'provider.homepage' || c.key === 'provider.logo' || c.key === 'provider.id') {
        provider[c.key.replace('provider.', '').replace('provider', 'label')] = value;
      } else if (c.key === 'pages') d.pages = split(value).map((v) => ({ [lang(c)]: v }));
      else if (c.key in FIELDS) d[FIELDS[c.key]!] = LISTS.has(c.key) ? split(value) : value;
      else {
        const entry = metadata.get(c.name) ?? {};
        entry[lang(c)] = split(value);
        metadata.set(c.name, entry);
      }
    });
    for (const [key, map] of Object.entries(maps)) d[key] = map;
    if (Object.keys(required.value).length > 0) d.requiredStatement = { label: required.label ?? 'Attribution', value: required.value };
    if (Object.keys(provider).length > 0) d.provider = provider;
    if (metadata.size > 0) d.metadata = [...metadata].map(([label, value]) => ({ label: { none: [label] }, value }));
    if (language !== undefined) d.language = language;
    return { object: get(keyColumn), source, description: d };
  });
}
