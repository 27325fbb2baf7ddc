import assert from 'node:assert/strict';
import { mkdir, rename } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { Catalog, IdentifierConflictError, type PageRecord } from '../../src/catalog/catalog.js';
import { vitrine } from '../helpers/cli.js';
import { pagePicture } from '../helpers/corpus.js';
import { assertServesMaster } from '../helpers/served.js';
import { startServer, tempDir } from '../helpers/server.js';

async function writeMaster(masters: string, name: string, n: number): Promise<void> {
  await mkdir(path.dirname(path.join(masters, name)), { recursive: true });
  await pagePicture(n, 400, 400).tiff().toFile(path.join(masters, name));
}

/** Identifier → master, for every page the catalog records. */
function published(out: string): Map<string, string> {
  const catalog = new Catalog(path.join(out, 'catalog.sqlite'), { readonly: true });
  try {
    return new Map(catalog.objects().flatMap((o) => catalog.pages(o.id).map((p): [string, string] => [p.identifier, p.sourcePath])));
  } finally {
    catalog.close();
  }
}

describe('persistent identifiers', () => {
  it('keep pointing at the same master and pixels when colliding folders are added before them', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const masters = path.join(dir, 'masters');
      const out = path.join(dir, 'out');
      await writeMaster(masters, 'a-b/001.tif', 1);
      await writeMaster(masters, 'a-b/002.tif', 2);
      await writeMaster(masters, 'Xy/001.tif', 3);
      assert.equal((await vitrine('convert', masters, '--out', out)).code, 0);
      const before = published(out);
      assert.deepEqual([...before.keys()].sort(), ['Xy/001', 'a-b/001', 'a-b/002']);

      // Folders that slug to the same ids, case-insensitively, and sort before the published ones.
      await writeMaster(masters, 'A b/001.tif', 4);
      await writeMaster(masters, 'A b/002.tif', 5);
      await writeMaster(masters, 'XY/001.tif', 6);
      await writeMaster(masters, 'a-b/001 .tif', 7); // a page name that collides inside a published object
      const rerun = await vitrine('convert', masters, '--out', out, '--json');
      assert.equal(rerun.code, 0, rerun.stderr);
      const after = published(out);
      for (const [identifier, master] of before) assert.equal(after.get(identifier), master, `${identifier} still names ${master}`);
      assert.equal(after.size, 7);
      const added = [...after.keys()].filter((id) => !before.has(id));
      assert.equal(new Set(added.map((id) => id.toLowerCase())).size, 4, `new identifiers are distinct: ${added.join(', ')}`);

      const server = await startServer(undefined, { data: out });
      try {
        for (const [identifier, master] of after) await assertServesMaster(server.url, identifier, master);
      } finally {
        await server.close();
      }
    } finally {
      await cleanup();
    }
  });

  it('stay the same when the masters folder is moved, and a catalog from before keeps what it published', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const masters = path.join(dir, 'masters');
      const out = path.join(dir, 'out');
      await writeMaster(masters, 'a-b/001.tif', 1);
      await writeMaster(masters, 'Xy/001.tif', 2);
      assert.equal((await vitrine('convert', masters, '--out', out)).code, 0);
      const before = [...published(out).keys()].sort();

      // Masters moved to another disk: every source path changes, the identifiers do not.
      const moved = path.join(dir, 'moved-masters');
      await rename(masters, moved);
      assert.equal((await vitrine('convert', moved, '--out', out)).code, 0);
      assert.deepEqual([...published(out).keys()].sort(), before);

      // A catalog written before identifiers were kept (no table): its published ones are adopted.
      const db = new Database(path.join(out, 'catalog.sqlite'));
      db.exec('DROP TABLE identifiers');
      db.close();
      await writeMaster(moved, 'A b/001.tif', 3);
      assert.equal((await vitrine('convert', moved, '--out', out)).code, 0);
      const after = published(out);
      for (const identifier of before) assert.ok(after.get(identifier)?.startsWith(moved), `${identifier} kept`);
      assert.equal(after.size, 3);
    } finally {
      await cleanup();
    }
  });

  it('are never taken from another master by the catalog: a conflicting record is refused, not replaced', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const catalog = new Catalog(path.join(dir, 'catalog.sqlite'));
      const page: PageRecord = {
        objectId: 'a-b',
        sequence: 1,
        identifier: 'a-b/001',
        sourcePath: '/masters/a-b/001.tif',
        sourcePage: 0,
        sourceSize: 10,
        sourceMtimeMs: 1,
        sourceSha256: 'x',
        settings: '{}',
        derivativePath: '/out/images/a-b/001.tif',
        width: 4,
        height: 4,
        convertedAt: new Date(0).toISOString(),
      };
      catalog.recordPage(page);
      assert.throws(() => catalog.recordPage({ ...page, sourcePath: '/masters/A b/001.tif' }), IdentifierConflictError);
      assert.equal(catalog.pageByIdentifier('a-b/001')?.sourcePath, '/masters/a-b/001.tif');
      catalog.recordPage({ ...page, width: 8 }); // the same master's page is updated in place
      assert.equal(catalog.pageByIdentifier('a-b/001')?.width, 8);
      catalog.close();
    } finally {
      await cleanup();
    }
  });
});
