import { readFile } from 'node:fs/promises';
import { MetadataError } from './description.js';

/**
 * CSV as spreadsheets write it (RFC 4180): quoted fields with doubled quotes and line breaks, CRLF
 * or LF, a UTF-8 byte order mark; the delimiter (comma, semicolon or tab) is the one the header
 * line uses most.
 */
export function parseCsv(text: string): string[][] {
  const input = text.replace(/^\uFEFF/, '');
  const headerEnd = input.search(/\r?\n/);
  const header = headerEnd === -1 ? input : input.slice(0, headerEnd);
  const count = (c: string): number => header.split(c).length - 1;
  const delimiter = [',', ';', '\t'].reduce((best, c) => (count(c) > count(best) ? c : best), ',');
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < input.length; i++) {
    const c = input[i]!;
    if (quoted) {
      if (c === '"') {
        if (input[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else field += c;
    } else if (c === '"' && field === '') quoted = true;
    else if (c === delimiter) {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && input[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (quoted) throw new MetadataError('a quoted field is not closed');
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows.filter((r) => r.some((cell) => cell.trim() !== ''));
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
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new MetadataError(`metadata file ${file}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found' : (error as Error).message}`);
  }
  let rows: string[][];
  try {
    rows = parseCsv(text);
  } catch (error) {
    throw new MetadataError(`metadata file ${file}: ${(error as Error).message}`);
  }
  const [header, ...body] = rows;
  if (!header) throw new MetadataError(`metadata file ${file}: empty`);
  const columns = header.map((h) => {
    const raw = h.trim();
    const at = raw.lastIndexOf('@');
    const [name, language] = at > 0 ? [raw.slice(0, at).trim(), raw.slice(at + 1).trim()] : [raw, undefined];
    return { raw, name, key: name.toLowerCase(), language };
  });
  const keyColumn = columns.findIndex((c) => KEY_COLUMNS.includes(c.key));
  if (keyColumn === -1) throw new MetadataError(`metadata file ${file}: no 'object' column (the object id or folder of each row)`);
  const base = file.split(/[\\/]/).pop() ?? file;

  return body.map((cells, r) => {
    const source = `${base} row ${r + 2}`;
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
