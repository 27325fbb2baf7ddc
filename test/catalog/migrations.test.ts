import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { PostgresCatalog } from '../../src/catalog/postgres/catalog.js';
import { MIGRATIONS } from '../../src/catalog/postgres/migrations.js';
import { queryIn, scratchSchema } from '../helpers/postgres.js';

describe('PostgreSQL catalog migrations', () => {
  const drops: (() => Promise<void>)[] = [];
  after(async () => {
    for (const drop of drops) await drop();
  });

  it('run once when several processes open a fresh schema at the same moment, and not again on the next open', async () => {
    const { url, schema, drop } = await scratchSchema();
    drops.push(drop);
    // Eight connections at once, as servers and workers starting together.
    const catalogs = await Promise.all(Array.from({ length: 8 }, () => PostgresCatalog.open(url)));
    await Promise.all(catalogs.map((c) => c.close()));
    const applied = await queryIn<{ version: number; name: string }>(schema, 'SELECT version, name FROM vitrine_migrations ORDER BY version');
    assert.deepEqual(applied, MIGRATIONS.map((m) => ({ version: m.version, name: m.name })));
    const again = await PostgresCatalog.open(url);
    await again.close();
    assert.equal((await queryIn(schema, 'SELECT 1 FROM vitrine_migrations')).length, MIGRATIONS.length);
    assert.deepEqual(await queryIn(schema, 'SELECT version FROM catalog_version'), [{ version: '0' }]);
  });
});
