import assert from 'node:assert/strict';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { get, type Got } from '../helpers/iiif.js';
import { REFERENCE_PNG, startServer, tempDir, type RunningServer } from '../helpers/server.js';

/**
 * Error responses are never stored by shared caches nor revalidated: a transient 500 cached by a
 * CDN (and confirmed by a 304 on revalidation) would hide a good image for as long as it is kept.
 */

/** Asserts an error that no cache may keep: no-store, and no validator to revalidate it with. */
function assertNotCacheable(got: Got, what: string): void {
  assert.ok(got.status >= 400, `${what} → ${got.status}`);
  assert.equal(got.headers.get('cache-control'), 'no-store', `${what}: Cache-Control`);
  assert.equal(got.headers.get('etag'), null, `${what}: ETag`);
  assert.equal(got.headers.get('last-modified'), null, `${what}: Last-Modified`);
}

describe('error responses are not cacheable', () => {
  let server: RunningServer;
  let tight: RunningServer;
  let cleanup: () => Promise<void>;

  before(async () => {
    const tmp = await tempDir();
    cleanup = tmp.cleanup;
    await copyFile(REFERENCE_PNG, path.join(tmp.dir, 'ref.png'));
    // Its header reads (info.json is served) but the pixels past the first third are lost.
    const png = await readFile(REFERENCE_PNG);
    await writeFile(path.join(tmp.dir, 'truncated.png'), png.subarray(0, Math.floor(png.length / 3)));
    server = await startServer(tmp.dir);
    tight = await startServer(tmp.dir, { maxInputPixels: 500_000 });
  });
  after(async () => {
    await server?.close();
    await tight?.close();
    await cleanup();
  });

  it('a 500 from an image that cannot be decoded has no-store and no validators, and revalidating it gives the error again, not 304', async () => {
    for (const version of [3, 2] as const) {
      const url = `${server.url}/iiif/${version}/truncated.png/0,900,10,10/max/0/default.png`;
      const got = await get(url);
      assert.equal(got.status, 500, `${url}: ${got.text}`);
      assertNotCacheable(got, url);
      // What a cache holding this response would send to revalidate it (or validators of its own).
      const conditional = {
        'If-None-Match': got.headers.get('etag') ?? '"stale"',
        'If-Modified-Since': got.headers.get('last-modified') ?? new Date().toUTCString(),
      };
      const again = await get(url, { headers: conditional });
      assert.equal(again.status, 500, `${url} revalidated → ${again.status}`);
      assertNotCacheable(again, `${url} revalidated`);
    }
  });

  it('4xx of the Image API (bad request, not found, refused) are not cacheable either', async () => {
    const urls = [
      `${server.url}/iiif/3/ref/full/^10000,10000/0/default.jpg`,
      `${server.url}/iiif/3/ref/nonsense/max/0/default.jpg`,
      `${server.url}/iiif/2/ref/full/0,/0/default.jpg`,
      `${server.url}/iiif/3/missing/info.json`,
      `${server.url}/iiif/3/missing/full/max/0/default.jpg`,
      `${server.url}/iiif/3/ref/full/max/0`,
      `${server.url}/iiif/3/ref%ZZ/info.json`,
      `${tight.url}/iiif/3/ref/full/max/0/default.jpg`,
      `${tight.url}/iiif/2/ref/full/full/0/default.jpg`,
    ];
    for (const url of urls) assertNotCacheable(await get(url), url);
    // A 403 raised while rendering comes after the validators were set: they must not stay.
    const refused = await get(`${tight.url}/iiif/3/ref/full/max/0/default.jpg`);
    assert.equal(refused.status, 403);
  });

  it('errors of the other routes: no route, manifests without a catalog, pages not found, viewer given a bad URL', async () => {
    for (const url of [
      `${server.url}/no/such/route`,
      `${server.url}/iiif/manifest/x`,
      `${server.url}/iiif/presentation/2/collection/top`,
      `${server.url}/browse/nowhere`,
      `${server.url}/viewer/mirador?manifest=javascript:alert(1)`,
      `${server.url}/web/no-such-file.js`,
    ]) {
      assertNotCacheable(await get(url), url);
    }
  });

  it('successful responses keep their validators and public Cache-Control', async () => {
    const got = await get(`${server.url}/iiif/3/ref/full/64,/0/default.jpg`);
    assert.equal(got.status, 200);
    assert.equal(got.headers.get('cache-control'), 'public, max-age=86400');
    assert.ok(got.headers.get('etag'), 'an ETag');
    assert.ok(got.headers.get('last-modified'), 'a Last-Modified');
  });
});
