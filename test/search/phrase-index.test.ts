import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Catalog } from '../../src/catalog/catalog.js';
import type { Line } from '../../src/search/model.js';
import { SqliteSearchIndex } from '../../src/search/sqlite-index.js';
import { parseQuery } from '../../src/search/tokens.js';
import { tempDir } from '../helpers/server.js';

/**
 * A phrase is found wherever its tokens follow each other in the page's token stream: across a
 * word without tokens (a dash), inside one word (`jane-doe`), across lines; not in `Janet Doe` nor
 * `Doe Jane`. The per-object search skips pages by a test on the stream's string before counting:
 * this pins down that the test never drops a page the count would find (a page for each case, so
 * that no other occurrence lets the page through).
 */
describe('search index: phrases across words without tokens, inside words and across lines', () => {
  let cleanup: () => Promise<void>;
  let file: string;
  /** A page's lines of words. */
  const pages: string[][][] = [[['Jane', '—', 'Doe']], [['said', 'jane-doe', 'to']], [['and', 'Jane'], ['Doe.']], [['Janet', 'Doe', 'and', 'Doe', 'Jane']]];
  const id = (i: number): string => `book/p-00${i + 1}`;
  const sidecar = { path: '/masters/book/p.alto.xml', format: 'alto', size: 1, mtimeMs: 0, canvasWidth: 2000, canvasHeight: 300, parserVersion: 1, indexedAt: new Date(0).toISOString() } as const;

  before(async () => {
    let dir: string;
    ({ dir, cleanup } = await tempDir('vitrine-search-phrase-'));
    file = path.join(dir, 'catalog.sqlite');
    const catalog = new Catalog(file);
    pages.forEach((_, i) =>
      catalog.recordPage({
        objectId: 'book',
        sequence: i + 1,
        identifier: id(i),
        sourcePath: `/masters/${id(i)}.tif`,
        sourcePage: 0,
        sourceSize: 1,
        sourceMtimeMs: 0,
        sourceSha256: '0'.repeat(64),
        settings: '{}',
        derivativePath: path.join(dir, `p-00${i + 1}.tif`),
        width: 2000,
        height: 300,
        convertedAt: new Date(0).toISOString(),
      }),
    );
    catalog.setObjectPages({ id: 'book', folder: 'book' }, pages.map((_, i) => ({ sourcePath: `/masters/${id(i)}.tif`, sourcePage: 0 })));
    catalog.close();
    const index = new SqliteSearchIndex(file);
    pages.forEach((page, i) => {
      const lines: Line[] = page.map((words, l) => ({ words: words.map((w, k) => ({ text: w, box: { x: 10 + k * 100, y: 20 + l * 50, w: 90, h: 15 } })) }));
      index.replacePage({ identifier: id(i), objectId: 'book', sidecar, text: { format: 'alto', size: { width: 2000, height: 300 }, lines } });
    });
    index.close();
  });
  after(async () => cleanup?.());

  it('finds each occurrence on its page, with its words and boxes', () => {
    const index = new SqliteSearchIndex(file, { readonly: true });
    try {
      const found = index.searchObject('book', parseQuery('"jane doe"')!, { offset: 0, limit: 10 });
      assert.equal(found.total, 3);
      assert.deepEqual(
        found.hits.map((h) => [h.identifier, h.match, h.parts.map((p) => p.box)]),
        [
          [id(0), 'Jane — Doe', [{ x: 10, y: 20, w: 290, h: 15 }]],
          [id(1), 'jane-doe', [{ x: 110, y: 20, w: 90, h: 15 }]],
          [id(2), 'Jane Doe.', [{ x: 110, y: 20, w: 90, h: 15 }, { x: 10, y: 70, w: 90, h: 15 }]],
        ],
      );
      assert.deepEqual(index.searchObject('book', parseQuery('"doe jane"')!, { offset: 0, limit: 10 }).hits.map((h) => [h.identifier, h.match]), [[id(3), 'Doe Jane']]);
      assert.equal(index.searchObject('book', parseQuery('"jane janet"')!, { offset: 0, limit: 10 }).total, 0);
    } finally {
      index.close();
    }
  });
});
