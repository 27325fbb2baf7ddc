import Database from 'better-sqlite3';
import { unionBox, type Box } from './model.js';
import type { Hit, IndexedPage, SearchIndex, SidecarState, Term, TextLine } from './search-index.js';
import { tokens, type SearchQuery } from './tokens.js';

/**
 * Tables of their own in the catalog file: pages with text (and where it came from), every word
 * with its box in canvas pixels keyed by page and position (what turns a match into boxes), the
 * terms of each page with their counts (autocomplete), and an FTS5 table of each page's tokens
 * (which pages match, without reading their words). The tokens are those of tokens(), joined by
 * spaces, so FTS5's unicode61 tokenizer splits them back exactly and a match's positions are the
 * words'.
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS search_pages (
  page_key INTEGER PRIMARY KEY,
  identifier TEXT NOT NULL UNIQUE,
  object_id TEXT NOT NULL,
  sidecar TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS search_pages_by_object ON search_pages (object_id);
CREATE TABLE IF NOT EXISTS search_words (
  page_key INTEGER NOT NULL,
  position INTEGER NOT NULL,
  line INTEGER NOT NULL,
  text TEXT NOT NULL,
  tokens TEXT NOT NULL,
  x INTEGER, y INTEGER, w INTEGER, h INTEGER,
  PRIMARY KEY (page_key, position)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS search_terms (
  page_key INTEGER NOT NULL,
  term TEXT NOT NULL,
  count INTEGER NOT NULL,
  PRIMARY KEY (page_key, term)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS search_terms_by_term ON search_terms (term, page_key);
CREATE VIRTUAL TABLE IF NOT EXISTS search_text USING fts5 (tokens, tokenize = 'unicode61 remove_diacritics 2');
`;

/** Words of context on each side of a hit (`before`/`after`, TextQuoteSelector prefix/suffix). */
const CONTEXT_WORDS = 6;

interface WordRow {
  position: number;
  line: number;
  text: string;
  tokens: string;
  x: number | null;
  y: number | null;
  w: number | null;
  h: number | null;
}

const boxOf = (row: WordRow): Box | undefined => (row.x === null || row.y === null || row.w === null || row.h === null ? undefined : { x: row.x, y: row.y, w: row.w, h: row.h });

/** An FTS5 query for the terms: a phrase, or all of them (tokens are letters and digits only: quoting is safe). */
const ftsQuery = (query: SearchQuery): string => (query.phrase ? `"${query.terms.join(' ')}"` : query.terms.map((t) => `"${t}"`).join(' '));

/** The runs of consecutive token indexes of a page's token stream that a query matches. */
function matchRuns(stream: readonly string[], query: SearchQuery): [number, number][] {
  const runs: [number, number][] = [];
  if (query.phrase) {
    const n = query.terms.length;
    for (let i = 0; i + n <= stream.length; i++) {
      if (query.terms.every((t, k) => stream[i + k] === t)) {
        runs.push([i, i + n - 1]);
        i += n - 1;
      }
    }
    return runs;
  }
  const wanted = new Set(query.terms);
  for (let i = 0; i < stream.length; i++) {
    if (!wanted.has(stream[i]!)) continue;
    const last = runs[runs.length - 1];
    if (last && last[1] === i - 1) last[1] = i;
    else runs.push([i, i]);
  }
  return runs;
}

export class SqliteSearchIndex implements SearchIndex {
  private readonly db: Database.Database;
  private readonly statements = new Map<string, Database.Statement>();
  /** Whether the catalog has the search tables (a read-only catalog converted before search existed has not, until a run adds them). */
  private hasTables = false;

  /** Opens the index in a catalog file (creating its tables unless read-only). */
  constructor(file: string, options: { readonly?: boolean } = {}) {
    this.db = new Database(file, { readonly: options.readonly ?? false, fileMustExist: options.readonly ?? false });
    this.db.pragma('busy_timeout = 5000');
    if (!options.readonly) {
      this.db.pragma('journal_mode = WAL');
      this.db.exec(SCHEMA);
    }
  }

  private get ready(): boolean {
    this.hasTables ||= this.db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'search_text'").get() !== undefined;
    return this.hasTables;
  }

  private statement(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (!statement) this.statements.set(sql, (statement = this.db.prepare(sql)));
    return statement;
  }

  private pageKey(identifier: string): number | undefined {
    return (this.statement('SELECT page_key FROM search_pages WHERE identifier = ?').get(identifier) as { page_key: number } | undefined)?.page_key;
  }

  private deleteKey(key: number): void {
    this.statement('DELETE FROM search_text WHERE rowid = ?').run(key);
    this.statement('DELETE FROM search_words WHERE page_key = ?').run(key);
    this.statement('DELETE FROM search_terms WHERE page_key = ?').run(key);
    this.statement('DELETE FROM search_pages WHERE page_key = ?').run(key);
  }

  replacePage(page: IndexedPage): void {
    const insertWord = this.statement('INSERT INTO search_words (page_key, position, line, text, tokens, x, y, w, h) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)');
    const insertTerm = this.statement('INSERT INTO search_terms (page_key, term, count) VALUES (?, ?, ?)');
    this.db.transaction(() => {
      const old = this.pageKey(page.identifier);
      if (old !== undefined) this.deleteKey(old);
      const key = Number(
        this.statement('INSERT INTO search_pages (identifier, object_id, sidecar) VALUES (?, ?, ?)').run(page.identifier, page.objectId, JSON.stringify(page.sidecar))
          .lastInsertRowid,
      );
      const stream: string[] = [];
      const counts = new Map<string, number>();
      let position = 0;
      page.text.lines.forEach((line, lineNumber) => {
        for (const word of line.words) {
          const wordTokens = tokens(word.text);
          const box = word.box;
          insertWord.run(key, position++, lineNumber, word.text, wordTokens.join(' '), box?.x ?? null, box?.y ?? null, box?.w ?? null, box?.h ?? null);
          for (const t of wordTokens) {
            stream.push(t);
            counts.set(t, (counts.get(t) ?? 0) + 1);
          }
        }
      });
      for (const [term, count] of counts) insertTerm.run(key, term, count);
      this.statement('INSERT INTO search_text (rowid, tokens) VALUES (?, ?)').run(key, stream.join(' '));
      // IMMEDIATE: it reads before it writes, and a deferred transaction that does so while another
      // process (a second ingest worker) writes fails with SQLITE_BUSY at once, without busy_timeout.
    }).immediate();
  }

  removePage(identifier: string): void {
    if (!this.ready) return;
    const key = this.pageKey(identifier);
    if (key !== undefined) this.db.transaction(() => this.deleteKey(key)).immediate();
  }

  retainPages(objectId: string, keep: readonly string[]): void {
    if (!this.ready) return;
    const kept = new Set(keep);
    const rows = this.statement('SELECT page_key, identifier FROM search_pages WHERE object_id = ?').all(objectId) as { page_key: number; identifier: string }[];
    this.db.transaction(() => {
      for (const row of rows) if (!kept.has(row.identifier)) this.deleteKey(row.page_key);
    }).immediate();
  }

  pageState(identifier: string): SidecarState | undefined {
    if (!this.ready) return undefined;
    const row = this.statement('SELECT sidecar FROM search_pages WHERE identifier = ?').get(identifier) as { sidecar: string } | undefined;
    return row && (JSON.parse(row.sidecar) as SidecarState);
  }

  objectPages(objectId: string): Map<string, SidecarState> {
    if (!this.ready) return new Map();
    const rows = this.statement('SELECT identifier, sidecar FROM search_pages WHERE object_id = ?').all(objectId) as { identifier: string; sidecar: string }[];
    return new Map(rows.map((r) => [r.identifier, JSON.parse(r.sidecar) as SidecarState]));
  }

  private words(key: number): WordRow[] {
    return this.statement('SELECT position, line, text, tokens, x, y, w, h FROM search_words WHERE page_key = ? ORDER BY position').all(key) as WordRow[];
  }

  search(objectId: string, query: SearchQuery): Hit[] {
    if (!this.ready) return [];
    // Pages in reading order, and only pages the catalog still has in this object.
    const pages = this.statement(
      `SELECT p.page_key, p.identifier FROM search_text t
         JOIN search_pages p ON p.page_key = t.rowid
         JOIN pages g ON g.identifier = p.identifier AND g.object_id = p.object_id
       WHERE search_text MATCH ? AND p.object_id = ? ORDER BY g.sequence`,
    ).all(ftsQuery(query), objectId) as { page_key: number; identifier: string }[];
    const hits: Hit[] = [];
    for (const page of pages) {
      const words = this.words(page.page_key);
      const stream: string[] = [];
      const wordOf: number[] = [];
      words.forEach((w, i) => {
        for (const t of w.tokens ? w.tokens.split(' ') : []) {
          stream.push(t);
          wordOf.push(i);
        }
      });
      let lastWord = -1;
      for (const [start, end] of matchRuns(stream, query)) {
        const first = wordOf[start]!;
        const last = wordOf[end]!;
        // Two runs in one word (`jane-doe` for "jane doe" unquoted) are one hit.
        if (first <= lastWord) continue;
        lastWord = last;
        const matched = words.slice(first, last + 1);
        const byLine = new Map<number, WordRow[]>();
        for (const w of matched) byLine.set(w.line, [...(byLine.get(w.line) ?? []), w]);
        const parts = [...byLine.values()].flatMap((lineWords) => {
          const box = unionBox(lineWords.flatMap((w) => boxOf(w) ?? []));
          return box ? [{ box, text: lineWords.map((w) => w.text).join(' ') }] : [];
        });
        const before = words.slice(Math.max(0, first - CONTEXT_WORDS), first).map((w) => w.text).join(' ');
        const after = words.slice(last + 1, last + 1 + CONTEXT_WORDS).map((w) => w.text).join(' ');
        hits.push({
          identifier: page.identifier,
          match: matched.map((w) => w.text).join(' '),
          before: before ? `${before} ` : '',
          after: after ? ` ${after}` : '',
          parts,
          position: words[first]!.position,
        });
      }
    }
    return hits;
  }

  autocomplete(objectId: string, prefix: string, options: { min: number; limit: number }): Term[] {
    if (!this.ready || prefix === '') return [];
    // Every term >= prefix and < prefix followed by the highest code point: those that start with it.
    return (
      this.statement(
        `SELECT t.term AS term, SUM(t.count) AS count FROM search_terms t JOIN search_pages p ON p.page_key = t.page_key
         WHERE t.term >= ? AND t.term < ? AND p.object_id = ? GROUP BY t.term HAVING SUM(t.count) >= ? ORDER BY t.term LIMIT ?`,
      ).all(prefix, `${prefix}\u{10ffff}`, objectId, options.min, options.limit) as { term: string; count: number }[]
    ).map((r) => ({ term: r.term, count: r.count }));
  }

  lines(identifier: string): TextLine[] {
    const key = this.ready ? this.pageKey(identifier) : undefined;
    if (key === undefined) return [];
    const lines: { words: WordRow[] }[] = [];
    let current = -1;
    for (const w of this.words(key)) {
      if (w.line !== current) {
        lines.push({ words: [] });
        current = w.line;
      }
      lines[lines.length - 1]!.words.push(w);
    }
    return lines.map((l) => ({ text: l.words.map((w) => w.text).join(' '), box: unionBox(l.words.flatMap((w) => boxOf(w) ?? [])) }));
  }

  close(): void {
    this.db.close();
  }
}
