import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Catalog, IdentifierConflictError, type PageRecord } from '../../src/catalog/catalog.js';
import { PostgresCatalog } from '../../src/catalog/postgres/catalog.js';
import type { CatalogStore } from '../../src/catalog/store.js';
import { tempDir } from '../helpers/server.js';
import { scratchSchema } from '../helpers/postgres.js';

/**
 * The catalog's behaviour, the same for both engines: the embedded SQLite file and PostgreSQL (a
 * schema of its own on this machine's server). Each engine gives two connections to one catalog,
 * as a server and a conversion have.
 */
interface Engine {
  readonly name: string;
  setUp(): Promise<{ open: () => Promise<CatalogStore>; tearDown: () => Promise<void> }>;
}

const ENGINES: Engine[] = [
  {
    name: 'SQLite',
    async setUp() {
      const { dir, cleanup } = await tempDir('vitrine-catalog-');
      return { open: async () => new Catalog(path.join(dir, 'catalog.sqlite')), tearDown: cleanup };
    },
  },
  {
    name: 'PostgreSQL',
    async setUp() {
      const { url, drop } = await scratchSchema();
      return { open: () => PostgresCatalog.open(url), tearDown: drop };
    },
  },
];

const page = (objectId: string, name: string, sequence: number, extra: Partial<PageRecord> = {}): PageRecord => ({
  objectId,
  sequence,
  identifier: `${objectId}/${name}`,
  sourcePath: `/masters/${objectId}/${name}.tif`,
  sourcePage: 0,
  sourceSize: 5_000_000_000,
  sourceMtimeMs: 1_700_000_000_123.5,
  sourceSha256: `sha-${name}`,
  settings: 'ptiff-q85',
  derivativePath: `/data/images/${objectId}/${name}.tif`,
  width: 4000,
  height: 3000,
  convertedAt: '2026-01-01T00:00:00.000Z',
  ...extra,
});

for (const engine of ENGINES) {
  describe(`catalog on ${engine.name}`, () => {
    let catalog: CatalogStore;
    let other: CatalogStore;
    let tearDown: () => Promise<void>;

    before(async () => {
      const setUp = await engine.setUp();
      tearDown = setUp.tearDown;
      catalog = await setUp.open();
      other = await setUp.open();
    });
    after(async () => {
      await catalog.close();
      await other.close();
      await tearDown();
    });

    it('records pages, finds them by master and by identifier (sizes past 2^32 and fractional mtimes kept), and refuses an identifier of another master', async () => {
      const first = page('ms7', 'p1', 1);
      await catalog.recordPage(first);
      assert.deepEqual(await other.page(first.sourcePath, 0), first);
      assert.deepEqual(await other.pageByIdentifier('ms7/p1'), first);
      assert.equal(await other.pageByIdentifier('ms7/nothing'), undefined);
      await assert.rejects(async () => catalog.recordPage(page('ms7', 'p1', 1, { sourcePath: '/elsewhere/p1.tif' })), IdentifierConflictError);
      // The same master again replaces its row.
      await catalog.recordPage({ ...first, width: 4001 });
      assert.equal((await other.pageByIdentifier('ms7/p1'))?.width, 4001);
    });

    it('records an object whole: page order, count, one Create; an unchanged re-record adds no activity, new metadata an Update', async () => {
      await catalog.recordPage(page('ms7', 'p2', 2));
      await catalog.recordPage(page('ms7', 'p3', 3));
      const keys = ['p3', 'p1', 'p2'].map((n) => ({ sourcePath: `/masters/ms7/${n}.tif`, sourcePage: 0 }));
      await catalog.recordObject({ id: 'ms7', folder: 'ms7' }, keys);
      assert.deepEqual((await other.pages('ms7')).map((p) => [p.identifier, p.sequence]), [['ms7/p3', 1], ['ms7/p1', 2], ['ms7/p2', 3]]);
      assert.equal((await other.object('ms7'))?.pageCount, 3);
      await catalog.recordObject({ id: 'ms7', folder: 'ms7' }, keys);
      await catalog.recordObject({ id: 'ms7', folder: 'ms7' }, keys, { metadata: { label: { en: ['Book'] } }, sources: ['ms7/manifest.yml'] });
      assert.deepEqual((await other.activities(0, 10)).map((a) => [a.id, a.type, a.objectType, a.objectId]), [
        [1, 'Create', 'Manifest', 'ms7'],
        [2, 'Update', 'Manifest', 'ms7'],
      ]);
      assert.equal(await other.activityCount(), 2);
      assert.deepEqual((await other.objectMetadata('ms7'))?.metadata, { label: { en: ['Book'] } });
      assert.deepEqual(await other.allObjectMetadata(), new Map([['ms7', { label: { en: ['Book'] } }]]));
      // A page left out of the order goes.
      await catalog.setObjectPages({ id: 'ms7', folder: 'ms7' }, keys.slice(0, 2));
      assert.deepEqual((await other.pages('ms7')).map((p) => p.identifier), ['ms7/p3', 'ms7/p1']);
      assert.equal((await other.activities(2, 10))[0]?.type, 'Update');
    });

    it('lists objects in natural order of their ids', async () => {
      for (const id of ['ms12', 'ms2']) {
        await catalog.recordPage(page(id, 'p1', 1));
        await catalog.recordObject({ id, folder: id }, [{ sourcePath: `/masters/${id}/p1.tif`, sourcePage: 0 }]);
      }
      assert.deepEqual((await other.objects()).map((o) => o.id), ['ms2', 'ms7', 'ms12']);
    });

    it('keeps given identifiers for good: the ledger finds them case-insensitively, and an identifier is given once', async () => {
      await catalog.giveIdentifiers([
        { source: 'Box/a.tif', sourcePage: 0, objectId: 'Box', identifier: 'Box/a' },
        { source: 'Box/b.tif', sourcePage: 0, objectId: 'Box', identifier: 'Box/b' },
      ]);
      const ledger = await other.identifierLedger();
      assert.deepEqual(ledger.givenIdentifier('Box/a.tif', 0), { objectId: 'Box', identifier: 'Box/a' });
      assert.equal(ledger.givenIdentifier('Box/c.tif', 0), undefined);
      assert.equal(ledger.objectIdTaken('box'), true);
      assert.equal(ledger.identifierTaken('BOX/B'), true);
      assert.equal(ledger.identifierTaken('box/c'), false);
      await assert.rejects(async () => catalog.giveIdentifiers([{ source: 'Other/x.tif', sourcePage: 0, objectId: 'Other', identifier: 'box/a' }]));
      // The failed transaction gave nothing.
      assert.equal((await other.identifierLedger()).objectIdTaken('Other'), false);
    });

    it('withdraws an object: pages and row gone, a Delete, its identifiers refused as withdrawn; a second withdrawal changes nothing', async () => {
      await catalog.recordPage(page('gone', 'p1', 1));
      await catalog.recordObject({ id: 'gone', folder: 'gone' }, [{ sourcePath: '/masters/gone/p1.tif', sourcePage: 0 }]);
      await catalog.giveIdentifiers([{ source: 'gone/p1.tif', sourcePage: 0, objectId: 'gone', identifier: 'gone/p1' }]);
      assert.equal(await other.isWithdrawnIdentifier('gone/p1'), false);
      const result = await catalog.withdrawObject('gone');
      assert.deepEqual(result, { withdrawn: true, pages: 1, removedFiles: [] });
      assert.equal(await other.object('gone'), undefined);
      assert.deepEqual(await other.pages('gone'), []);
      assert.equal(await other.isWithdrawn('gone'), true);
      assert.equal(await other.isWithdrawn('ms7'), false);
      assert.equal(await other.isWithdrawnIdentifier('gone/p1'), true);
      assert.equal(await other.isWithdrawnIdentifier('GONE/P1'), true);
      const total = await other.activityCount();
      assert.deepEqual((await other.activities(total - 1, 1)).map((a) => [a.type, a.objectId]), [['Delete', 'gone']]);
      assert.deepEqual(await catalog.withdrawObject('gone'), { withdrawn: false, pages: 0, removedFiles: [] });
      assert.equal(await other.activityCount(), total);
      assert.equal((await other.identifierLedger()).identifierTaken('gone/p1'), true);
    });

    it('keeps access policies (open when none) and collection descriptions, a changed description being an Update of its collection', async () => {
      assert.deepEqual(await other.objectAccess('ms7'), { access: 'open' });
      await catalog.setObjectAccess('ms7', { access: 'restricted', profile: 'login' }, ['access.yml']);
      assert.deepEqual(await other.objectAccess('ms7'), { access: 'restricted', profile: 'login' });
      const before = await other.activityCount();
      const described = new Map([['letters', { metadata: { label: { en: ['Letters'] } }, sources: ['letters/collection.yml'] }]]);
      await catalog.setCollectionMetadata(['', 'letters'], described);
      await catalog.setCollectionMetadata(['', 'letters'], described);
      assert.deepEqual((await other.collectionRecord('letters'))?.metadata, { label: { en: ['Letters'] } });
      assert.deepEqual([...(await other.collectionMetadata()).keys()], ['letters']);
      assert.equal(await other.collectionRecord(''), undefined);
      assert.deepEqual((await other.activities(before, 10)).map((a) => [a.type, a.objectType, a.objectId]), [['Update', 'Collection', 'letters']]);
    });

    it("changes its version when another connection commits, and only then", async () => {
      const seen = await other.changeVersion();
      assert.equal(await other.changeVersion(), seen);
      await catalog.setObjectAccess('ms2', { access: 'open' }, []);
      const after = await other.changeVersion();
      assert.notEqual(after, seen);
      assert.equal(await other.changeVersion(), after);
    });

    it('adopts the identifiers of pages recorded before identifiers were kept, once', async () => {
      // A fresh catalog of its own: adoption happens only while no identifier was given.
      const setUp = await engine.setUp();
      const fresh = await setUp.open();
      try {
        await fresh.recordPage(page('old', 'p1', 1, { sourcePath: '/masters/old/p1.tif' }));
        await fresh.adoptPublishedIdentifiers('/masters/');
        const ledger = await fresh.identifierLedger();
        assert.deepEqual(ledger.givenIdentifier('old/p1.tif', 0), { objectId: 'old', identifier: 'old/p1' });
      } finally {
        await fresh.close();
        await setUp.tearDown();
      }
    });
  });
}
