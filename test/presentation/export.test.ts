import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { assertValid3, crawl, getJson, type Json } from '../helpers/presentation.js';
import { startServer, tempDir, type RunningServer } from '../helpers/server.js';
import { BATCH_CSV, OBJECTS, writeMasters } from './corpus.js';
import { vitrine } from '../helpers/cli.js';

/** A plain static file server over `root`, as a web host would publish the exported folder. */
async function staticServer(root: string): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const file = path.join(root, ...decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname).split('/').filter((s) => s && s !== '..'));
    readFile(file).then(
      (body) => res.writeHead(200, { 'Content-Type': 'application/json' }).end(body),
      () => res.writeHead(404).end(),
    );
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe('vitrine manifests: a static export of every manifest and collection', () => {
  let cleanup: () => Promise<void>;
  let data: string;
  let site: string;
  let images: RunningServer;
  let host: { url: string; server: Server };
  let result: { code: number; stderr: string };

  before(async () => {
    const tmp = await tempDir('vitrine-export-');
    cleanup = tmp.cleanup;
    const masters = path.join(tmp.dir, 'masters');
    data = path.join(tmp.dir, 'data');
    site = path.join(tmp.dir, 'site');
    await writeMasters(masters);
    await writeFile(path.join(tmp.dir, 'batch.csv'), BATCH_CSV);
    const converted = await vitrine('convert', masters, '--out', data, '--metadata', path.join(tmp.dir, 'batch.csv'), '--workers', '2');
    assert.equal(converted.code, 0, converted.stderr);
    images = await startServer(undefined, { data });
    host = await staticServer(site);
    result = await vitrine('manifests', '--data', data, '--base-url', `${host.url}/pub`, '--image-base-url', images.url, '--out', path.join(site, 'pub'), '--v2');
  });
  after(async () => {
    host?.server.close();
    await images?.close();
    await cleanup();
  });

  it('writes files laid out as their ids: the published folder is crawlable from collection/top.json and valid 3.0', async () => {
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, new RegExp(`wrote ${OBJECTS.length} manifests and 3 collections`));
    const { collections, manifests } = await crawl(`${host.url}/pub/collection/top.json`);
    assert.equal(collections.size, 3);
    for (const [url, c] of collections) assertValid3(c, url);
    assert.deepEqual(manifests.sort(), OBJECTS.map((o) => `${host.url}/pub/manifest/${o.id}.json`).sort());
    for (const url of manifests) {
      const { body } = await getJson(url);
      assertValid3(body, url);
      assert.equal(body.id, url);
    }
  });

  it('holds the same content as the server, with images on the image server', async () => {
    for (const object of OBJECTS) {
      const { body: exported } = await getJson(`${host.url}/pub/manifest/${object.id}.json`);
      const { body: served } = await getJson(`${images.url}/iiif/manifest/${object.id}`);
      for (const key of ['label', 'summary', 'metadata', 'rights', 'requiredStatement', 'provider', 'navDate', 'behavior']) {
        assert.deepEqual(exported[key], served[key], `${object.id} ${key}`);
      }
      const canvases = (m: Json) => (m.items as Json[]).map((c) => [c.label, c.width, c.height, c.items[0].items[0].body.id]);
      assert.deepEqual(canvases(exported), canvases(served), object.id);
      assert.equal((exported.structures ?? []).length, (served.structures ?? []).length);
      for (const canvas of exported.items as Json[]) {
        const response = await fetch(canvas.items[0].items[0].body.id as string);
        assert.equal(response.status, 200);
        await response.arrayBuffer();
      }
    }
  });

  it('with --v2, writes the 2.1 documents too, reachable from their top collection', async () => {
    const { collections, manifests } = await crawl(`${host.url}/pub/presentation/2/collection/top.json`, 2);
    assert.equal(collections.size, 3);
    assert.equal(manifests.length, OBJECTS.length);
    const { body } = await getJson(manifests[0]!);
    assert.equal(body['@context'], 'http://iiif.io/api/presentation/2/context.json');
    assert.ok((body.sequences[0].canvases[0].images[0].resource.service['@id'] as string).startsWith(`${images.url}/iiif/2/`));
  });

  it('exits 2 with a reason on a folder without catalog or a bad URL', async () => {
    const none = await vitrine('manifests', '--data', site, '--base-url', 'https://example.org', '--out', path.join(site, 'x'));
    assert.equal(none.code, 2);
    assert.match(none.stderr, /no catalog\.sqlite/);
    const bad = await vitrine('manifests', '--data', data, '--base-url', 'example.org', '--out', path.join(site, 'x'));
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--base-url: 'example\.org' is not an http\(s\) URL/);
  });
});
