import assert from 'node:assert/strict';
import { copyFile, mkdir, readFile, utimes } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { get, getImage, httpsGet, reference, selfSignedCertificate } from '../helpers/iiif.js';
import { assertSimilar, decode } from '../helpers/pixels.js';
import { REFERENCE_PNG, startServer, tempDir, type RunningServer } from '../helpers/server.js';

/** The HTTP side of the Image API: CORS, HEAD, validators and 304s, caching, links, conneg, redirects, ids. */

const ORIGIN = { Origin: 'https://viewer.example' };
const MODIFIED = new Date('2021-03-04T05:06:07Z');

describe('HTTP protocol of the Image API', () => {
  let server: RunningServer;
  let cleanup: () => Promise<void>;
  let images: string;

  before(async () => {
    const tmp = await tempDir();
    cleanup = tmp.cleanup;
    images = tmp.dir;
    await copyFile(REFERENCE_PNG, path.join(images, 'ref.png'));
    await utimes(path.join(images, 'ref.png'), MODIFIED, MODIFIED);
    await mkdir(path.join(images, 'a/b'), { recursive: true });
    await sharp(REFERENCE_PNG).extract({ left: 500, top: 0, width: 300, height: 200 }).png().toFile(path.join(images, 'a/b/page.png'));
    await sharp(REFERENCE_PNG).extract({ left: 0, top: 500, width: 200, height: 100 }).png().toFile(path.join(images, 'page one.png'));
    // Files are re-checked on every request, so a changed file shows at once.
    server = await startServer(images, { sourceCheckIntervalMs: 0 });
  });
  after(async () => {
    await server.close();
    await cleanup();
  });

  describe('CORS', () => {
    it('every kind of response carries Access-Control-Allow-Origin: *', async () => {
      const urls: Array<[string, number, Record<string, string>?]> = [
        ['/iiif/3/ref/info.json', 200],
        ['/iiif/2/ref/info.json', 200],
        ['/iiif/3/ref/full/64,/0/default.jpg', 200],
        ['/iiif/2/ref/full/64,/0/default.jpg', 200],
        ['/iiif/3/ref', 303],
        ['/iiif/3/ref/info.json', 304, { 'If-Modified-Since': MODIFIED.toUTCString() }],
        ['/iiif/3/ref/nonsense/max/0/default.jpg', 400],
        ['/iiif/3/missing/info.json', 404],
        ['/no/such/route', 404],
        ['/health', 200],
      ];
      for (const [url, status, headers] of urls) {
        const got = await get(`${server.url}${url}`, { headers: { ...ORIGIN, ...headers } });
        assert.equal(got.status, status, url);
        assert.equal(got.headers.get('access-control-allow-origin'), '*', url);
      }
    });

    it('answers a preflight OPTIONS request', async () => {
      const got = await get(`${server.url}/iiif/3/ref/info.json`, {
        method: 'OPTIONS',
        headers: { ...ORIGIN, 'Access-Control-Request-Method': 'GET', 'Access-Control-Request-Headers': 'accept' },
      });
      assert.ok(got.status === 204 || got.status === 200, `status ${got.status}`);
      assert.equal(got.headers.get('access-control-allow-origin'), '*');
      assert.match(got.headers.get('access-control-allow-methods') ?? '', /\bGET\b/);
      assert.match(got.headers.get('access-control-allow-methods') ?? '', /\bHEAD\b/);
      assert.equal(got.body.length, 0);
    });

    it('lets scripts read the Link, ETag and Last-Modified headers', async () => {
      const got = await get(`${server.url}/iiif/3/ref/full/64,/0/default.jpg`, { headers: ORIGIN });
      const exposed = (got.headers.get('access-control-expose-headers') ?? '').toLowerCase();
      for (const header of ['link', 'etag', 'last-modified']) assert.ok(exposed.includes(header), `exposes ${header}: ${exposed}`);
    });
  });

  describe('HEAD', () => {
    it('an image HEAD has the GET headers and no body', async () => {
      const url = `${server.url}/iiif/3/ref/0,0,200,200/100,/0/default.png`;
      const head = await get(url, { method: 'HEAD' });
      const full = await get(url);
      assert.equal(head.status, 200);
      assert.equal(head.body.length, 0);
      assert.equal(head.headers.get('content-type'), 'image/png');
      for (const header of ['etag', 'last-modified', 'link', 'cache-control']) {
        assert.ok(head.headers.get(header), `HEAD has ${header}`);
        assert.equal(head.headers.get(header), full.headers.get(header), header);
      }
    });

    it('an info.json HEAD has the content type and no body', async () => {
      const head = await get(`${server.url}/iiif/3/ref/info.json`, { method: 'HEAD' });
      assert.equal(head.status, 200);
      assert.equal(head.body.length, 0);
      assert.match(head.headers.get('content-type') ?? '', /^application\/ld\+json/);
    });
  });

  describe('validators and conditional requests', () => {
    const image = () => `${server.url}/iiif/3/ref/0,0,100,100/max/0/default.jpg`;

    it('sends a strong ETag and the file time as Last-Modified', async () => {
      for (const url of [image(), `${server.url}/iiif/3/ref/info.json`, `${server.url}/iiif/2/ref/info.json`]) {
        const got = await get(url);
        assert.match(got.headers.get('etag') ?? '', /^"[^"]+"$/, url);
        assert.equal(got.headers.get('last-modified'), MODIFIED.toUTCString(), url);
      }
    });

    it('If-None-Match with the current ETag (also weak, listed or *) → 304 without a body', async () => {
      const etag = (await get(image())).headers.get('etag')!;
      for (const value of [etag, `W/${etag}`, `"other", ${etag}`, '*']) {
        const got = await get(image(), { headers: { 'If-None-Match': value } });
        assert.equal(got.status, 304, value);
        assert.equal(got.body.length, 0);
        assert.equal(got.headers.get('etag'), etag);
      }
      const stale = await get(image(), { headers: { 'If-None-Match': '"something-else"' } });
      assert.equal(stale.status, 200);
      assert.ok(stale.body.length > 0);
    });

    it('If-Modified-Since → 304 when not modified since, 200 when modified since', async () => {
      const fresh = await get(image(), { headers: { 'If-Modified-Since': MODIFIED.toUTCString() } });
      assert.equal(fresh.status, 304);
      const later = await get(image(), { headers: { 'If-Modified-Since': new Date(MODIFIED.getTime() + 86_400_000).toUTCString() } });
      assert.equal(later.status, 304);
      const earlier = await get(image(), { headers: { 'If-Modified-Since': new Date(MODIFIED.getTime() - 1000).toUTCString() } });
      assert.equal(earlier.status, 200);
      const nonsense = await get(image(), { headers: { 'If-Modified-Since': 'yesterday' } });
      assert.equal(nonsense.status, 200);
      // If-None-Match wins over If-Modified-Since.
      const both = await get(image(), { headers: { 'If-None-Match': '"other"', 'If-Modified-Since': MODIFIED.toUTCString() } });
      assert.equal(both.status, 200);
    });

    it('equivalent requests share an ETag, different ones do not', async () => {
      const etag = async (url: string) => (await get(url, { method: 'HEAD' })).headers.get('etag');
      const base = `${server.url}/iiif/3/ref`;
      assert.equal(await etag(`${base}/square/max/0/default.jpg`), await etag(`${base}/full/max/0/default.jpg`));
      assert.equal(await etag(`${base}/pct:0,0,10,10/max/0/default.jpg`), await etag(`${base}/0,0,100,100/max/0/default.jpg`));
      assert.notEqual(await etag(`${base}/0,0,100,100/max/0/default.jpg`), await etag(`${base}/0,0,100,100/max/0/default.png`));
      assert.notEqual(await etag(`${base}/0,0,100,100/max/0/default.jpg`), await etag(`${base}/0,0,100,100/max/90/default.jpg`));
      assert.notEqual(await etag(`${base}/info.json`), await etag(`${server.url}/iiif/2/ref/info.json`));
    });

    it('a changed file gets a new ETag, and the old one no longer gives a 304', async () => {
      const file = path.join(images, 'changing.png');
      await sharp(REFERENCE_PNG).extract({ left: 0, top: 0, width: 64, height: 64 }).png().toFile(file);
      await utimes(file, MODIFIED, MODIFIED);
      const url = `${server.url}/iiif/3/changing/full/max/0/default.png`;
      const first = await get(url);
      const etag = first.headers.get('etag')!;
      await sharp(REFERENCE_PNG).extract({ left: 64, top: 64, width: 64, height: 64 }).png().toFile(file);
      const later = new Date(MODIFIED.getTime() + 60_000);
      await utimes(file, later, later);
      const second = await get(url, { headers: { 'If-None-Match': etag } });
      assert.equal(second.status, 200);
      assert.notEqual(second.headers.get('etag'), etag);
      assert.equal(second.headers.get('last-modified'), later.toUTCString());
      assertSimilar(await decode(second.body), await reference((i) => i.extract({ left: 64, top: 64, width: 64, height: 64 })), 0, 'new content');
    });
  });

  describe('Cache-Control, Link headers, content negotiation, redirects', () => {
    it('Cache-Control defaults to public, max-age=86400 on images, info.json and 304s', async () => {
      const urls = [`${server.url}/iiif/3/ref/full/64,/0/default.jpg`, `${server.url}/iiif/3/ref/info.json`, `${server.url}/iiif/2/ref/info.json`];
      for (const url of urls) assert.equal((await get(url)).headers.get('cache-control'), 'public, max-age=86400', url);
      const notModified = await get(urls[0]!, { headers: { 'If-Modified-Since': MODIFIED.toUTCString() } });
      assert.equal(notModified.status, 304);
      assert.equal(notModified.headers.get('cache-control'), 'public, max-age=86400');
    });

    it('images have canonical and profile links; info.json has the profile link', async () => {
      for (const version of [3, 2] as const) {
        const base = `${server.url}/iiif/${version}/ref`;
        const link = (await get(`${base}/pct:10,10,50,50/!400,400/90/gray.png`, { method: 'HEAD' })).headers.get('link') ?? '';
        const canonicalSize = version === 3 ? '400,400' : '400,';
        assert.ok(link.includes(`<${base}/100,100,500,500/${canonicalSize}/90/gray.png>;rel="canonical"`), link);
        assert.ok(link.includes(`<http://iiif.io/api/image/${version}/level2.json>;rel="profile"`), link);
        const infoLink = (await get(`${base}/info.json`)).headers.get('link') ?? '';
        assert.ok(infoLink.includes(`<http://iiif.io/api/image/${version}/level2.json>;rel="profile"`), infoLink);
      }
    });

    it('3.0 info.json is JSON-LD (with the context as profile) by default and when asked, plain JSON when asked', async () => {
      const info = `${server.url}/iiif/3/ref/info.json`;
      const ld = { type: 'application/ld+json', profile: 'http://iiif.io/api/image/3/context.json' };
      assert.deepEqual(mediaType(await get(info)), ld);
      assert.deepEqual(mediaType(await get(info, { headers: { Accept: '' } })), ld);
      assert.deepEqual(mediaType(await get(info, { headers: { Accept: 'application/ld+json' } })), ld);
      assert.deepEqual(mediaType(await get(info, { headers: { Accept: 'application/ld+json;profile="http://iiif.io/api/image/3/context.json"' } })), ld);
      assert.deepEqual(mediaType(await get(info, { headers: { Accept: 'application/json' } })), { type: 'application/json', profile: undefined });
      const got = await get(info, { headers: { Accept: 'application/ld+json' } });
      assert.match(got.headers.get('vary') ?? '', /accept/i);
      assert.equal((JSON.parse(got.text) as { type: string }).type, 'ImageService3');
    });

    it('2.1 info.json is plain JSON unless JSON-LD is asked for', async () => {
      const info = `${server.url}/iiif/2/ref/info.json`;
      const json = { type: 'application/json', profile: undefined };
      assert.deepEqual(mediaType(await get(info)), json);
      assert.deepEqual(mediaType(await get(info, { headers: { Accept: 'application/json' } })), json);
      const ld = await get(info, { headers: { Accept: 'application/ld+json' } });
      assert.deepEqual(mediaType(ld), { type: 'application/ld+json', profile: 'http://iiif.io/api/image/2/context.json' });
      assert.equal((JSON.parse(ld.text) as { '@id': string })['@id'], `${server.url}/iiif/2/ref`);
    });

    it('info.json honours q-values and wildcards in Accept, as manifests do (one negotiation)', async () => {
      const json = { type: 'application/json', profile: undefined };
      const ld = (version: 2 | 3) => ({ type: 'application/ld+json', profile: `http://iiif.io/api/image/${version}/context.json` });
      for (const [version, accept, want] of [
        [3, 'application/json, application/ld+json;q=0.5', json],
        [3, 'application/ld+json;q=0, application/json', json],
        [3, 'application/json;q=0.5, */*', ld(3)],
        [3, 'text/html, application/xhtml+xml, */*;q=0.8', ld(3)],
        [2, 'application/json, application/ld+json;q=0.1', json],
        [2, 'application/json;q=0.5, application/ld+json', ld(2)],
        [2, '*/*', json],
      ] as const) {
        assert.deepEqual(mediaType(await get(`${server.url}/iiif/${version}/ref/info.json`, { headers: { Accept: accept } })), want, `${version}: ${accept}`);
      }
    });

    it('the base URI redirects (303) to info.json, keeping the identifier encoded', async () => {
      for (const [asked, location] of [
        ['/iiif/3/ref', '/iiif/3/ref/info.json'],
        ['/iiif/2/ref.png', '/iiif/2/ref.png/info.json'],
        ['/iiif/3/a%2Fb%2Fpage', '/iiif/3/a%2Fb%2Fpage/info.json'],
      ]) {
        const got = await get(`${server.url}${asked!}`);
        assert.equal(got.status, 303, asked);
        assert.equal(got.headers.get('location'), `${server.url}${location!}`);
      }
      const followed = await fetch(`${server.url}/iiif/3/ref`);
      assert.equal(followed.status, 200);
      assert.equal(((await followed.json()) as { id: string }).id, `${server.url}/iiif/3/ref`);
    });
  });

  describe('identifiers', () => {
    it('with and without the extension name the same image', async () => {
      for (const id of ['ref', 'ref.png']) {
        const info = (await (await fetch(`${server.url}/iiif/3/${id}/info.json`)).json()) as { id: string; width: number };
        assert.equal(info.id, `${server.url}/iiif/3/${id}`);
        assert.equal(info.width, 1000);
      }
    });

    it('encoded slashes reach files in subfolders, with or without extension, in both versions', async () => {
      const want = await reference((i) => i.extract({ left: 500, top: 0, width: 300, height: 200 }));
      for (const id of ['a%2Fb%2Fpage', 'a%2Fb%2Fpage.png', 'a%2fb%2fpage']) {
        for (const version of [3, 2] as const) {
          const { pixels } = await getImage(`${server.url}/iiif/${version}/${id}/full/max/0/default.png`, 'image/png');
          assertSimilar(pixels, want, 0, `${version} ${id}`);
        }
      }
      const info = (await (await fetch(`${server.url}/iiif/3/a%2Fb%2Fpage/info.json`)).json()) as { id: string; width: number; height: number };
      assert.equal(info.id, `${server.url}/iiif/3/a%2Fb%2Fpage`);
      assert.deepEqual([info.width, info.height], [300, 200]);
      const v2 = (await (await fetch(`${server.url}/iiif/2/a%2Fb%2Fpage/info.json`)).json()) as { '@id': string };
      assert.equal(v2['@id'], `${server.url}/iiif/2/a%2Fb%2Fpage`);
    });

    it('unencoded slashes in an identifier do not match a request', async () => {
      const got = await get(`${server.url}/iiif/3/a/b/page/info.json`);
      assert.equal(got.status, 404);
      assert.match(got.text, /%2F/);
    });

    it('other encoded characters (a space) work and stay encoded in the id', async () => {
      const info = (await (await fetch(`${server.url}/iiif/3/page%20one/info.json`)).json()) as { id: string; width: number };
      assert.equal(info.id, `${server.url}/iiif/3/page%20one`);
      assert.equal(info.width, 200);
      const { pixels } = await getImage(`${server.url}/iiif/3/page%20one.png/full/max/0/default.png`, 'image/png');
      assertSimilar(pixels, await reference((i) => i.extract({ left: 0, top: 500, width: 200, height: 100 })), 0, 'page one');
    });
  });

  describe('public base URL', () => {
    it('baseUrl is used in ids, canonical links and redirects, whatever the request says', async () => {
      const configured = await startServer(images, { baseUrl: 'https://iiif.example.org/images/', cacheControl: 'no-cache' });
      try {
        const forwarded = { 'X-Forwarded-Proto': 'http', 'X-Forwarded-Host': 'evil.example' };
        const v3 = (await (await fetch(`${configured.url}/iiif/3/ref/info.json`, { headers: forwarded })).json()) as { id: string };
        assert.equal(v3.id, 'https://iiif.example.org/images/iiif/3/ref');
        const v2 = (await (await fetch(`${configured.url}/iiif/2/a%2Fb%2Fpage/info.json`)).json()) as { '@id': string };
        assert.equal(v2['@id'], 'https://iiif.example.org/images/iiif/2/a%2Fb%2Fpage');
        const image = await get(`${configured.url}/iiif/3/ref/full/64,/0/default.jpg`);
        assert.ok((image.headers.get('link') ?? '').includes('<https://iiif.example.org/images/iiif/3/ref/full/64,64/0/default.jpg>;rel="canonical"'));
        assert.equal((await get(`${configured.url}/iiif/3/ref`)).headers.get('location'), 'https://iiif.example.org/images/iiif/3/ref/info.json');
        // The configured Cache-Control replaces the default.
        assert.equal(image.headers.get('cache-control'), 'no-cache');
        assert.equal((await get(`${configured.url}/iiif/3/ref/info.json`)).headers.get('cache-control'), 'no-cache');
      } finally {
        await configured.close();
      }
    });

    it('X-Forwarded-Proto/Host are honoured with trustProxy, and ignored without it', async () => {
      const forwarded = { 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'iiif.example.net' };
      const proxied = await startServer(images, { trustProxy: true });
      try {
        const behind = (await (await fetch(`${proxied.url}/iiif/3/ref/info.json`, { headers: forwarded })).json()) as { id: string };
        assert.equal(behind.id, 'https://iiif.example.net/iiif/3/ref');
        const v2 = (await (await fetch(`${proxied.url}/iiif/2/ref/info.json`, { headers: forwarded })).json()) as { '@id': string };
        assert.equal(v2['@id'], 'https://iiif.example.net/iiif/2/ref');
        const redirect = await get(`${proxied.url}/iiif/3/ref`, { headers: forwarded });
        assert.equal(redirect.headers.get('location'), 'https://iiif.example.net/iiif/3/ref/info.json');
        const direct = (await (await fetch(`${proxied.url}/iiif/3/ref/info.json`)).json()) as { id: string };
        assert.equal(direct.id, `${proxied.url}/iiif/3/ref`);
      } finally {
        await proxied.close();
      }
      const untrusted = (await (await fetch(`${server.url}/iiif/3/ref/info.json`, { headers: forwarded })).json()) as { id: string };
      assert.equal(untrusted.id, `${server.url}/iiif/3/ref`);
    });
  });

  describe('HTTPS', () => {
    it('serves info.json and images over TLS with the configured key and certificate', async () => {
      const tmp = await tempDir('vitrine-tls-');
      try {
        const made = await selfSignedCertificate(tmp.dir);
        const secure = await startServer(images, { tlsKey: made.key, tlsCert: made.cert });
        try {
          assert.match(secure.url, /^https:\/\/127\.0\.0\.1:\d+$/);
          const ca = await readFile(made.cert);
          const info = await httpsGet(`${secure.url}/iiif/3/ref/info.json`, ca);
          assert.equal(info.status, 200);
          assert.equal((JSON.parse(info.body.toString()) as { id: string }).id, `${secure.url}/iiif/3/ref`);
          const image = await httpsGet(`${secure.url}/iiif/2/ref/0,0,100,100/full/0/default.png`, ca);
          assert.equal(image.status, 200);
          assert.equal(image.contentType, 'image/png');
          assertSimilar(await decode(image.body), await reference((i) => i.extract({ left: 0, top: 0, width: 100, height: 100 })), 0, 'over TLS');
          // Plain HTTP to the TLS port is not answered as a normal request.
          const plain = await fetch(secure.url.replace('https:', 'http:') + '/health').then((r) => r.status, () => 'refused');
          assert.notEqual(plain, 200);
        } finally {
          await secure.close();
        }
      } finally {
        await tmp.cleanup();
      }
    });
  });
});

/** The media type of a response and its profile parameter (other parameters, such as charset, ignored). */
function mediaType(got: { headers: Headers }): { type: string; profile: string | undefined } {
  const [type = '', ...params] = (got.headers.get('content-type') ?? '').split(';').map((p) => p.trim());
  const profile = params.find((p) => p.startsWith('profile='))?.slice('profile='.length).replace(/^"|"$/g, '');
  return { type, profile };
}
