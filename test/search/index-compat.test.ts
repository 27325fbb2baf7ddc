import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { Catalog } from '../../src/catalog/catalog.js';
import { SqliteSearchIndex } from '../../src/search/sqlite-index.js';
import { parseQuery } from '../../src/search/tokens.js';
import { tempDir } from '../helpers/server.js';

/**
 * A catalog indexed before the words of a page were one row: a row per word in search_words, the
 * FTS5 stream joined by spaces only, no search_page_words table, opened read-only by the server.
 */
describe('search index: catalogs indexed by the earlier layout are still searched', () => {
  let cleanup: () => Promise<void>;
  let file: string;

  before(async () => {
    let dir: string;
    ({ dir, cleanup } = await tempDir('vitrine-search-compat-'));
    file = path.join(dir, 'catalog.sqlite');
    const catalog = new Catalog(file);
    catalog.recordPage({
      objectId: 'book',
      sequence: 1,
      identifier: 'book/p-001',
      sourcePath: '/masters/book/p-001.tif',
      sourcePage: 0,
      sourceSize: 1,
      sourceMtimeMs: 0,
      sourceSha256: '0'.repeat(64),
      settings: '{}',
      derivativePath: path.join(dir, 'p-001.tif'),
      width: 400,
      height: 300,
      convertedAt: new Date(0).toISOString(),
    });
    catalog.setObjectPages({ id: 'book', folder: 'book' }, [{ sourcePath: '/masters/book/p-001.tif', sourcePage: 0 }]);
    catalog.close();
    new SqliteSearchIndex(file).close();
    const db = new Database(file);
    db.exec('DROP TABLE search_page_words');
    db.prepare("INSERT INTO search_pages (page_key, identifier, object_id, sidecar) VALUES (1, 'book/p-001', 'book', '{}')").run();
    const words = [
      ['Jane', 'jane', 10],
      ['Doe', 'doe', 60],
      ['wrote', 'wrote', 110],
      ['to', 'to', 160],
      ['Jane', 'jane', 200],
      ['Doe', 'doe', 250],
    ] as const;
    words.forEach(([text, token, x], position) =>
      db.prepare('INSERT INTO search_words (page_key, position, line, text, tokens, x, y, w, h) VALUES (1, ?, 0, ?, ?, ?, 20, 40, 15)').run(position, text, token, x),
    );
    for (const [term, count] of [['jane', 2], ['doe', 2], ['wrote', 1], ['to', 1]] as const) db.prepare('INSERT INTO search_terms (page_key, term, count) VALUES (1, ?, ?)').run(term, count);
    db.prepare('INSERT INTO search_text (rowid, tokens) VALUES (1, ?)').run(words.map((w) => w[1]).join(' '));
    db.close();
  });
  after(async () => cleanup?.());

  it('finds words and phrases with their boxes, counts and pages them, and gives the lines', () => {
    const index = new SqliteSearchIndex(file, { readonly: true });
    try {
      const phrase = index.searchObject('book', parseQuery('"jane doe"')!, { offset: 1, limit: 10 });
      assert.equal(phrase.total, 2);
      assert.deepEqual(
        phrase.hits.map((h) => [h.match, h.before, h.parts.map((p) => p.box)]),
        [['Jane Doe', 'Jane Doe wrote to ', [{ x: 200, y: 20, w: 90, h: 15 }]]],
      );
      assert.equal(index.searchObject('book', parseQuery('wrote')!, { offset: 0, limit: 10 }).total, 1);
      assert.equal(index.searchArchive(parseQuery('to')!, { offset: 0, limit: 20 }).items[0]?.hits[0]?.match, 'to');
      assert.deepEqual(index.lines('book/p-001'), [{ text: 'Jane Doe wrote to Jane Doe', box: { x: 10, y: 20, w: 280, h: 15 } }]);
    } finally {
      index.close();
    }
  });
});
