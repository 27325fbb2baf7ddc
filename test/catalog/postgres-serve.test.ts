import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { serveCli, vitrine, type CliServer } from '../helpers/cli.js';
import { pagePicture } from '../helpers/corpus.js';
import { fetchBytes } from '../helpers/pixels.js';
import { queryIn, scratchSchema, POSTGRES_URL } from '../helpers/postgres.js';
import { assertServesMaster } from '../helpers/served.js';
import { tempDir } from '../helpers/server.js';

/** A master of page `n` at `file` under the masters root. */
async function master(masters: string, file: string, n: number): Promise<string> {
  const at = path.join(masters, ...file.split('/'));
  await mkdir(path.dirname(at), { recursive: true });
  await writeFile(at, await pagePicture(n).tiff({ compression: 'lzw' }).toBuffer());
  return at;
}

/** A document of a server, with its own address taken out (the two servers listen on different ports). */
async function document(server: CliServer, route: string): Promise<string> {
  const response = await fetch(`${server.url}${route}`);
  assert.equal(response.status, 200, `${server.url}${route}: ${response.status}`);
  return (await response.text()).replaceAll(server.url, 'BASE');
}

async function until(what: string, check: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) assert.fail(`${what}: not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe('a catalog on PostgreSQL, shared by vitrine convert and two vitrine serve processes', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  const schemas: { drop: () => Promise<void> }[] = [];
  const servers: CliServer[] = [];

  before(async () => {
    ({ dir, cleanup } = await tempDir('vitrine-pg-'));
  });
  after(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    for (const schema of schemas) await schema.drop();
    await cleanup();
  });

  it('records a conversion in PostgreSQL; two servers answer the same manifests, collections and tiles; a second run shows on both without a restart, identifiers kept', async () => {
    const scratch = await scratchSchema();
    schemas.push(scratch);
    const masters = path.join(dir, 'masters');
    const data = path.join(dir, 'data');
    const files = {
      'letters/ms1/p1.tif': await master(masters, 'letters/ms1/p1.tif', 1),
      'letters/ms1/p2.tif': await master(masters, 'letters/ms1/p2.tif', 2),
      'maps/m1/sheet.tif': await master(masters, 'maps/m1/sheet.tif', 3),
    };
    const first = await vitrine('convert', masters, '--out', data, '--catalog', scratch.url, '--workers', '2');
    assert.equal(first.code, 0, first.stderr);
    // The catalog is in PostgreSQL: the data folder's SQLite file keeps the search index only.
    const pages = await queryIn<{ identifier: string }>(scratch.schema, 'SELECT identifier FROM pages ORDER BY identifier');
    assert.deepEqual(pages.map((p) => p.identifier), ['letters/ms1/p1', 'letters/ms1/p2', 'maps/m1/sheet']);
    if (existsSync(path.join(data, 'catalog.sqlite'))) {
      const sqlite = new Database(path.join(data, 'catalog.sqlite'), { readonly: true });
      try {
        assert.equal(sqlite.prepare("SELECT 1 FROM sqlite_master WHERE name = 'pages'").get(), undefined);
      } finally {
        sqlite.close();
      }
    }

    const [a, b] = await Promise.all([0, 1].map(() => serveCli(['--data', data, '--catalog', scratch.url, '--port', '0'])));
    servers.push(a!, b!);
    assert.notEqual(a!.url, b!.url);
    for (const route of ['/iiif/collection/top', '/iiif/collection/letters', '/iiif/manifest/letters/ms1', '/iiif/manifest/maps/m1', '/iiif/activity/all-changes']) {
      assert.equal(await document(a!, route), await document(b!, route), route);
    }
    const manifest = JSON.parse(await document(a!, '/iiif/manifest/letters/ms1')) as { items: unknown[] };
    assert.equal(manifest.items.length, 2);
    for (const [identifier, file] of [['letters/ms1/p1', files['letters/ms1/p1.tif']], ['maps/m1/sheet', files['maps/m1/sheet.tif']]] as const) {
      const tile = `/iiif/3/${encodeURIComponent(identifier)}/0,0,256,256/256,/0/default.png`;
      const [fromA, fromB] = await Promise.all([fetchBytes(`${a!.url}${tile}`), fetchBytes(`${b!.url}${tile}`)]);
      assert.ok(fromA.body.equals(fromB.body), `${identifier}: the same tile from both servers`);
      await assertServesMaster(a!.url, identifier, file);
      await assertServesMaster(b!.url, identifier, file);
    }

    // Served without --catalog, the data folder's catalog.sqlite (the search index only) is no catalog: no manifest, tiles from images/.
    const plain = await serveCli(['--data', data, '--port', '0']);
    servers.push(plain);
    assert.equal((await fetch(`${plain.url}/iiif/manifest/letters/ms1`)).status, 404);
    await assertServesMaster(plain.url, 'maps/m1/sheet.tif', files['maps/m1/sheet.tif']);

    // A new page between the two: the second run gives it a name of its own, the others keep theirs.
    const added = await master(masters, 'letters/ms1/p1a.tif', 4);
    const second = await vitrine('convert', masters, '--out', data, '--catalog', scratch.url, '--workers', '2');
    assert.equal(second.code, 0, second.stderr);
    for (const server of [a!, b!]) {
      await until(`${server.url} shows the new page`, async () => (JSON.parse(await document(server, '/iiif/manifest/letters/ms1')) as { items: unknown[] }).items.length === 3);
      await assertServesMaster(server.url, 'letters/ms1/p1a', added);
    }
    assert.equal(await document(a!, '/iiif/manifest/letters/ms1'), await document(b!, '/iiif/manifest/letters/ms1'));
    const after = await queryIn<{ identifier: string; source: string }>(scratch.schema, 'SELECT identifier, source FROM identifiers ORDER BY identifier');
    assert.deepEqual(after, [
      { identifier: 'letters/ms1/p1', source: 'letters/ms1/p1.tif' },
      { identifier: 'letters/ms1/p1a', source: 'letters/ms1/p1a.tif' },
      { identifier: 'letters/ms1/p2', source: 'letters/ms1/p2.tif' },
      { identifier: 'maps/m1/sheet', source: 'maps/m1/sheet.tif' },
    ]);
    const changes = JSON.parse(await document(b!, '/iiif/activity/page/0')) as { orderedItems: { type: string; object: { id: string } }[] };
    assert.deepEqual(
      changes.orderedItems.map((i) => [i.type, i.object.id.replace('BASE', '')]),
      [
        ['Create', '/iiif/manifest/letters/ms1'],
        ['Create', '/iiif/manifest/maps/m1'],
        ['Update', '/iiif/manifest/letters/ms1'],
      ],
    );
  });

  it('migrates a fresh schema once when two servers start on it together', async () => {
    const scratch = await scratchSchema();
    schemas.push(scratch);
    const data = path.join(dir, 'empty-data');
    await mkdir(path.join(data, 'images'), { recursive: true });
    const [a, b] = await Promise.all([0, 1].map(() => serveCli(['--data', data, '--catalog', POSTGRES_URL, '--catalog-schema', scratch.schema, '--port', '0'])));
    servers.push(a!, b!);
    const migrations = await queryIn<{ version: number }>(scratch.schema, 'SELECT version FROM vitrine_migrations');
    assert.deepEqual(migrations, [{ version: 1 }]);
    for (const server of [a!, b!]) {
      const top = JSON.parse(await document(server, '/iiif/collection/top')) as { items: unknown[] };
      assert.deepEqual(top.items, []);
    }
  });

  it('an unreachable PostgreSQL: exit 1 with one line naming host and database, never the password', async () => {
    const url = 'postgres://vitrine:hunter2-secret@127.0.0.1:1/archive';
    const masters = path.join(dir, 'masters');
    for (const run of [
      () => vitrine('convert', masters, '--out', path.join(dir, 'unreachable'), '--catalog', url),
      () => vitrine('serve', '--data', path.join(dir, 'data'), '--catalog', url, '--port', '0'),
      () => vitrine('manifests', '--data', path.join(dir, 'data'), '--catalog', url, '--base-url', 'https://example.org', '--out', path.join(dir, 'site')),
    ]) {
      const { code, stderr } = await run();
      assert.equal(code, 1, stderr);
      const lines = stderr.trim().split('\n');
      assert.equal(lines.length, 1, stderr);
      assert.match(lines[0]!, /^vitrine: catalog: cannot use PostgreSQL at vitrine@127\.0\.0\.1:1\/archive: .*ECONNREFUSED/);
      assert.ok(!stderr.includes('hunter2'), stderr);
    }
  });

  it('refuses the embedded queue with a PostgreSQL catalog: serve --watch and worker without --queue exit 2 with one line', async () => {
    const masters = path.join(dir, 'masters');
    for (const args of [
      ['serve', '--data', path.join(dir, 'data'), '--watch', masters, '--catalog', POSTGRES_URL, '--port', '0'],
      ['worker', '--data', path.join(dir, 'data'), '--masters', masters, '--catalog', POSTGRES_URL],
    ]) {
      const { code, stderr } = await vitrine(...args);
      assert.equal(code, 2, stderr);
      assert.equal(stderr.trim().split('\n').length, 1, stderr);
      assert.match(stderr, /queue.*with a PostgreSQL catalog .*--queue redis:\/\//);
    }
  });
});
