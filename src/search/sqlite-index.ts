import Database from 'better-sqlite3';
import { unionBox, type Box } from './model.js';
import type { ArchiveResults, Hit, IndexedPage, SearchIndex, SidecarState, Term, TextLine } from './search-index.js';
import { tokens, type SearchQuery } from './tokens.js';

/**
 * Tables of their own in the catalog file: pages with text (and where it came from), each page's
 * words with their boxes in canvas pixels as one row (what turns a match into boxes: a page's
 * words are only ever read together, and one row is written and read many times faster than a
 * row per word; search_words holds them a row per word in catalogs indexed before), the
 * terms of each page with their counts (autocomplete), and an FTS5 table of each page's tokens
 * (which pages match, without reading their words). The tokens are those of tokens(), joined by
 * spaces within a word and '|' between words, so FTS5's unicode61 tokenizer splits them back
 * exactly, and hits can be counted from that one string without reading the words.
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS search_pages (
  page_key INTEGER PRIMARY KEY,
  identifier TEXT NOT NULL UNIQUE,
  object_id TEXT NOT NULL,
  sidecar TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS search_pages_by_object ON search_pages (object_id);
CREATE TABLE IF NOT EXISTS search_page_words (
  page_key INTEGER PRIMARY KEY,
  words TEXT NOT NULL
);
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
DROP INDEX IF EXISTS search_terms_by_term;
CREATE VIRTUAL TABLE IF NOT EXISTS search_text USING fts5 (tokens, tokenize = 'unicode61 remove_diacritics 2');
`;

/** Matching pages an archive-wide search counts at most (ArchiveResults.more beyond). */
export const ARCHIVE_COUNT_LIMIT = 10_000;

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

/** A page's words as search_page_words stores them: [line, text, tokens, x, y, w, h] each, the box null without coordinates. */
type PackedWord = [number, string, string, number | null, number | null, number | null, number | null];

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

/** A page's tokens, word by word. */
interface TokenStream {
  readonly tokens: readonly (readonly string[])[];
}

/** The stream search_text holds: words apart by '|' (catalogs indexed before have only spaces: a token is then taken as a word). */
function tokenStream(text: string): TokenStream {
  if (!text.includes('|')) return { tokens: text === '' ? [] : text.split(' ').map((t) => [t]) };
  return { tokens: text.split('|').map((w) => (w === '' ? [] : w.split(' '))) };
}

/** The hits of a query in a page's stream, as [first word, last word]: runs of matching tokens, two runs in one word (`jane-doe` for "jane doe" unquoted) one hit. */
function runsOf(stream: TokenStream, query: SearchQuery): [number, number][] {
  const flat: string[] = [];
  const wordOf: number[] = [];
  stream.tokens.forEach((wordTokens, i) => {
    for (const t of wordTokens) {
      flat.push(t);
      wordOf.push(i);
    }
  });
  const runs: [number, number][] = [];
  let lastWord = -1;
  for (const [start, end] of matchRuns(flat, query)) {
    const first = wordOf[start]!;
    if (first <= lastWord) continue;
    lastWord = wordOf[end]!;
    runs.push([first, lastWord]);
  }
  return runs;
}

/**
 * For a phrase, whether a page's stream can hold it: its tokens one after the other, apart only by
 * separators (an empty word between them is '||'). A test on the string, with no false negative,
 * that spares splitting the stream of each of an object's pages that has every word of the phrase
 * but not together (most of them, for common words: 25 ms of 30 for an object of 200 pages).
 * Other queries: every candidate page (it has every word) is counted.
 */
function phraseTest(query: SearchQuery): (stream: string) => boolean {
  if (!query.phrase) return () => true;
  const escape = (t: string): string => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const pattern = new RegExp(`(?:^|[ |])${query.terms.map(escape).join('[ |]+')}(?=[ |]|$)`);
  return (stream) => pattern.test(stream);
}

export class SqliteSearchIndex implements SearchIndex {
  private readonly db: Database.Database;
  private readonly statements = new Map<string, Database.Statement>();
  /** Whether the catalog has the search tables (a read-only catalog converted before search existed has not, until a run adds them). */
  private hasTables = false;
  private packedWords: boolean | undefined;

  /** Opens the index in a catalog file (creating its tables unless read-only). */
  constructor(file: string, options: { readonly?: boolean } = {}) {
    this.db = new Database(file, { readonly: options.readonly ?? false, fileMustExist: options.readonly ?? false });
    this.db.pragma('busy_timeout = 5000');
    if (!options.readonly) {
      this.db.pragma('journal_mode = WAL');
      // As the catalog does: in WAL mode a commit then needs no fsync (a crash loses at most the
      // last pages' text, which the next run indexes again; it never corrupts the file).
      this.db.pragma('synchronous = NORMAL');
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
    this.statement('DELETE FROM search_page_words WHERE page_key = ?').run(key);
    this.statement('DELETE FROM search_words WHERE page_key = ?').run(key);
    this.statement('DELETE FROM search_terms WHERE page_key = ?').run(key);
    this.statement('DELETE FROM search_pages WHERE page_key = ?').run(key);
  }

  replacePage(page: IndexedPage): void {
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
      const packed: PackedWord[] = [];
      page.text.lines.forEach((line, lineNumber) => {
        for (const word of line.words) {
          const wordTokens = tokens(word.text);
          const box = word.box;
          packed.push([lineNumber, word.text, wordTokens.join(' '), box?.x ?? null, box?.y ?? null, box?.w ?? null, box?.h ?? null]);
          stream.push(wordTokens.join(' '));
          // Words having the term, not its tokens: a word with it twice (`echo-echo`) is one hit,
          // so a one-word query's hits on a page are its count.
          for (const t of new Set(wordTokens)) counts.set(t, (counts.get(t) ?? 0) + 1);
        }
      });
      this.statement('INSERT INTO search_page_words (page_key, words) VALUES (?, ?)').run(key, JSON.stringify(packed));
      for (const [term, count] of counts) insertTerm.run(key, term, count);
      // Words apart by '|', tokens of a word by ' ': both separators to the tokenizer (the same
      // positions), and the stream says which word each token is in (see tokenStream).
      this.statement('INSERT INTO search_text (rowid, tokens) VALUES (?, ?)').run(key, stream.join('|'));
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
    // A catalog indexed before search_page_words, opened read-only, has only search_words.
    this.packedWords ??= this.db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'search_page_words'").get() !== undefined;
    const row = !this.packedWords ? undefined : this.statement('SELECT words FROM search_page_words WHERE page_key = ?').get(key) as { words: string } | undefined;
    if (row) return (JSON.parse(row.words) as PackedWord[]).map(([line, text, tokens, x, y, w, h], position) => ({ position, line, text, tokens, x, y, w, h }));
    return this.statement('SELECT position, line, text, tokens, x, y, w, h FROM search_words WHERE page_key = ? ORDER BY position').all(key) as WordRow[];
  }

  search(objectId: string, query: SearchQuery): Hit[] {
    return this.searchObject(objectId, query, { offset: 0, limit: Number.MAX_SAFE_INTEGER }).hits;
  }

  searchObject(objectId: string, query: SearchQuery, range: { offset: number; limit: number }): { total: number; hits: Hit[] } {
    if (!this.ready) return { total: 0, hits: [] };
    // The object's pages (in reading order, only those the catalog still has) that have every
    // term, looked up page by page in search_terms: as fast for the commonest word as for a rare
    // one, where FTS5 would list the word's pages in the whole archive first.
    const terms = [...new Set(query.terms)];
    const pages = this.statement(
      `SELECT p.page_key, p.identifier, t0.count FROM search_pages p
         JOIN pages g ON g.identifier = p.identifier AND g.object_id = p.object_id
         JOIN search_terms t0 ON t0.page_key = p.page_key AND t0.term = ?
       WHERE p.object_id = ? ${terms.slice(1).map(() => 'AND EXISTS (SELECT 1 FROM search_terms t WHERE t.page_key = p.page_key AND t.term = ?)').join(' ')}
       ORDER BY g.sequence`,
    ).all(terms[0], objectId, ...terms.slice(1)) as { page_key: number; identifier: string; count: number }[];
    const end = range.offset + range.limit;
    if (query.terms.length === 1) {
      // One word: a page's hits are its count of words having it, so only the pages of the range are read.
      let total = 0;
      const hits: Hit[] = [];
      for (const page of pages) {
        if (total + page.count > range.offset && total < end) {
          const onPage = this.pageHits(page.page_key, page.identifier, query);
          hits.push(...onPage.slice(Math.max(0, range.offset - total), end - total));
        }
        total += page.count;
      }
      return { total, hits };
    }
    // Several words or a phrase: each candidate page's hits are counted from its token stream (a
    // short string, no JSON), and only the pages of the range have their words read.
    const streamOf = this.statement('SELECT tokens FROM search_text WHERE rowid = ?').pluck();
    const mayHave = phraseTest(query);
    let total = 0;
    const hits: Hit[] = [];
    for (const page of pages) {
      const stream = streamOf.get(page.page_key) as string;
      const count = mayHave(stream) ? runsOf(tokenStream(stream), query).length : 0;
      if (count > 0 && total + count > range.offset && total < end) {
        const onPage = this.pageHits(page.page_key, page.identifier, query);
        hits.push(...onPage.slice(Math.max(0, range.offset - total), end - total));
      }
      total += count;
    }
    return { total, hits };
  }

  searchArchive(query: SearchQuery, range: { offset: number; limit: number }): ArchiveResults {
    if (!this.ready) return { pages: 0, more: false, items: [] };
    // Index order (rowid), which FTS5 gives without sorting: a page of results costs the same
    // whatever the number of matches. Only pages the catalog still has.
    const from = `FROM search_text t
         JOIN search_pages p ON p.page_key = t.rowid
         JOIN pages g ON g.identifier = p.identifier AND g.object_id = p.object_id
       WHERE search_text MATCH ?`;
    const fts = ftsQuery(query);
    // Counted in FTS5 alone (5 ms for a word on all 100,000 pages of bench:search, 100-190 ms
    // with the joins): text the index still has for pages withdrawn since is counted, not listed.
    // And only up to ARCHIVE_COUNT_LIMIT: a phrase of common words checks positions on every page
    // it counts, and nobody pages through more.
    const { n } = this.statement('SELECT count(*) AS n FROM (SELECT 1 FROM search_text WHERE search_text MATCH ? LIMIT ?)').get(fts, ARCHIVE_COUNT_LIMIT + 1) as { n: number };
    const rows = this.statement(`SELECT p.page_key, p.identifier, p.object_id ${from} ORDER BY t.rowid LIMIT ? OFFSET ?`).all(fts, range.limit, range.offset) as {
      page_key: number;
      identifier: string;
      object_id: string;
    }[];
    return { pages: Math.min(n, ARCHIVE_COUNT_LIMIT), more: n > ARCHIVE_COUNT_LIMIT, items: rows.map((r) => ({ identifier: r.identifier, objectId: r.object_id, hits: this.pageHits(r.page_key, r.identifier, query) })) };
  }

  hasText(): boolean {
    return this.ready && this.statement('SELECT 1 FROM search_pages LIMIT 1').get() !== undefined;
  }

  /** The hits of a query on one page, in text order, from its words. */
  private pageHits(key: number, identifier: string, query: SearchQuery): Hit[] {
    const words = this.words(key);
    const hits: Hit[] = [];
    for (const [first, last] of runsOf({ tokens: words.map((w) => (w.tokens ? w.tokens.split(' ') : [])) }, query)) {
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
        identifier,
        match: matched.map((w) => w.text).join(' '),
        before: before ? `${before} ` : '',
        after: after ? ` ${after}` : '',
        parts,
        position: words[first]!.position,
      });
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
