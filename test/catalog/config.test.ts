import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { catalogLocation } from '../../src/catalog/open.js';
import { ConfigError, loadServeConfig } from '../../src/config/load.js';
import { tempDir } from '../helpers/server.js';

describe('the catalog setting', () => {
  it('in a config file: a file is relative to the config file, a PostgreSQL URL is kept as it is', async () => {
    const { dir, cleanup } = await tempDir('vitrine-catalog-config-');
    try {
      for (const [given, expected] of [
        ['shared/catalog.sqlite', path.join(dir, 'shared/catalog.sqlite')],
        ['postgres://vitrine@db.example.org/archive?schema=iiif', 'postgres://vitrine@db.example.org/archive?schema=iiif'],
      ]) {
        const file = path.join(dir, 'vitrine.yml');
        await writeFile(file, `data: ./data\ncatalog: ${given}\n`);
        assert.equal(loadServeConfig({}, { configFile: file, env: {} }).catalog, expected);
      }
    } finally {
      await cleanup();
    }
  });

  it('needs the data folder, and a PostgreSQL catalog an ingest queue on Redis', () => {
    assert.throws(() => loadServeConfig({ images: '/tmp', catalog: 'postgres://h/db' }, { env: {} }), (e: Error) => e instanceof ConfigError && /catalog: .*--data DIR/.test(e.message));
    assert.throws(
      () => loadServeConfig({ data: '/tmp/d', masters: '/tmp/m', catalog: 'postgres://h/db' }, { env: {} }),
      (e: Error) => e instanceof ConfigError && /queue: with a PostgreSQL catalog/.test(e.message),
    );
    assert.equal(loadServeConfig({ data: '/tmp/d', masters: '/tmp/m', catalog: 'postgres://h/db', queue: 'redis://127.0.0.1:6379' }, { env: {} }).catalog, 'postgres://h/db');
  });

  it('--catalog picks the engine: a postgres:// URL, else a file; none: the data folder\'s catalog.sqlite', () => {
    assert.deepEqual(catalogLocation('/srv/data'), { kind: 'sqlite', file: '/srv/data/catalog.sqlite' });
    assert.deepEqual(catalogLocation('/srv/data', 'postgresql://u@h/db', 'iiif'), { kind: 'postgres', url: 'postgresql://u@h/db', schema: 'iiif' });
    assert.deepEqual(catalogLocation('/srv/data', '/elsewhere/c.sqlite'), { kind: 'sqlite', file: '/elsewhere/c.sqlite' });
  });
});
