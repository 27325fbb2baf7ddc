import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Catalog } from '../../src/catalog/catalog.js';
import type { CatalogSource, CatalogStore } from '../../src/catalog/store.js';
import { PresentationStore } from '../../src/presentation/store.js';
import { CatalogResolver } from '../../src/storage/catalog-resolver.js';
import { FileResolver } from '../../src/storage/file-resolver.js';
import { tempDir } from '../helpers/server.js';

/**
 * A real catalog seen through a source whose version the test sets, counting the questions that reach
 * the catalog: on PostgreSQL each is a round trip, which the image hot path must not pay per request.
 */
class CountingSource implements CatalogSource {
  version = 'v1';
  readonly asked = new Map<string, number>();
  readonly store: CatalogStore;

  constructor(catalog: Catalog) {
    this.store = new Proxy(catalog, {
      get: (target, name, receiver) => {
        const value = Reflect.get(target, name, receiver) as unknown;
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          this.asked.set(String(name), (this.asked.get(String(name)) ?? 0) + 1);
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
  }

  get location(): string {
    return this.store.location;
  }
  async current() {
    return { store: this.store, version: this.version };
  }
  async close(): Promise<void> {}
  total(): number {
    return [...this.asked.values()].reduce((a, b) => a + b, 0);
  }
}

describe('what servers read from the catalog is cached under its version', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let catalog: Catalog;
  let source: CountingSource;

  before(async () => {
    ({ dir, cleanup } = await tempDir('vitrine-cache-'));
    await mkdir(path.join(dir, 'images', 'ms1'), { recursive: true });
    await writeFile(path.join(dir, 'images', 'ms1', 'p1.tif'), 'not read here');
    catalog = new Catalog(path.join(dir, 'catalog.sqlite'));
    catalog.recordPage({
      objectId: 'ms1', sequence: 1, identifier: 'ms1/p1', sourcePath: '/m/ms1/p1.tif', sourcePage: 0, sourceSize: 1, sourceMtimeMs: 1,
      sourceSha256: 'x', settings: 's', derivativePath: path.join(dir, 'images', 'ms1', 'p1.tif'), width: 10, height: 20, convertedAt: '2026-01-01T00:00:00Z',
    });
    catalog.recordObject({ id: 'ms1', folder: 'ms1' }, [{ sourcePath: '/m/ms1/p1.tif', sourcePage: 0 }]);
    source = new CountingSource(catalog);
  });
  after(async () => {
    catalog.close();
    await cleanup();
  });

  it('identifier lookups: asked once per identifier and version, however many tiles', async () => {
    const resolver = new CatalogResolver(await FileResolver.create(path.join(dir, 'images')), source);
    source.asked.clear();
    for (let i = 0; i < 100; i++) {
      const file = await resolver.resolve('ms1/p1');
      assert.equal(file, path.join(dir, 'images', 'ms1', 'p1.tif'));
      assert.deepEqual(await resolver.policyOf(file), { access: 'open' });
    }
    const once = source.total();
    assert.ok(once > 0 && once <= 3, `asked ${once} times for 100 tiles`);
    source.version = 'v2';
    await resolver.resolve('ms1/p1');
    assert.equal(source.total(), once * 2, 'asked again once the catalog changed');
  });

  it('manifest sources and withdrawals: asked once per object and version', async () => {
    const store = new PresentationStore(dir, undefined, source);
    await store.tree();
    source.asked.clear();
    for (let i = 0; i < 50; i++) {
      assert.equal((await store.manifestSource('ms1'))?.source.pages.length, 1);
      assert.equal(await store.isWithdrawn('gone'), false);
    }
    const once = source.total();
    assert.ok(once > 0 && once <= 6, `asked ${once} times for 50 manifests`);
    source.version = 'v3';
    await store.manifestSource('ms1');
    assert.ok(source.total() > once, 'read again once the catalog changed');
  });
});
