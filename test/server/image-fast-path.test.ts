import assert from 'node:assert/strict';
import { mkdir, rename } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import sharp from 'sharp';
import { loadServeConfig } from '../../src/config/load.js';
import type { ServeConfigInput } from '../../src/config/schema.js';
import { buildApp, type BuildOptions } from '../../src/server/app.js';
import { RENDER_WEIGHT } from '../../src/server/image-fast-path.js';
import { IDS, protectedArchive } from '../auth/fixture.js';
import { parseExposition, valueOf, type Sample } from '../helpers/metrics.js';
import { REFERENCE_PNG, tempDir } from '../helpers/server.js';

/**
 * The image fast path (src/server/image-fast-path.ts) against the route it stands in front of:
 * two servers over the same images, one with the fast path (the default) and one without, asked the
 * same requests, must answer the same bytes with the same headers, count the same in /metrics and
 * write the same access-log lines; the fast path must really have answered (its count), and never
 * for a protected image.
 */

interface Served {
  readonly url: string;
  readonly app: FastifyInstance;
  readonly lines: Record<string, unknown>[];
  close(): Promise<void>;
}

async function serve(settings: Partial<ServeConfigInput>, imageFastPath: boolean, build: BuildOptions = {}): Promise<Served> {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const text of chunk.toString().split('\n')) if (text) lines.push(JSON.parse(text) as Record<string, unknown>);
      done();
    },
  });
  const config = loadServeConfig({ port: 0, ...settings }, { env: {} });
  const app = await buildApp(config, pino({ level: 'info' }, sink), { ...build, imageFastPath });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return { url, app, lines, close: () => app.close() };
}

/** Runs `test` against a server with the fast path and one without, over the same settings; closes both. */
async function withBoth(settings: Partial<ServeConfigInput>, test: (fast: Served, slow: Served) => Promise<void>): Promise<void> {
  const fast = await serve(settings, true);
  try {
    const slow = await serve(settings, false);
    try {
      await test(fast, slow);
    } finally {
      await slow.close();
    }
  } finally {
    await fast.close();
  }
}

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
}

/** Headers that differ between two answers for reasons of their own. */
const OWN = new Set(['date', 'connection']);

/** A GET with node:http (fetch sorts headers and will not send Host): the headers as sent, in order, Date aside. */
function ask(server: Served, pathAndQuery: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = http.request(`${server.url}${pathAndQuery}`, { method, headers, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const kept: Record<string, string> = {};
        const raw = response.rawHeaders;
        for (let i = 0; i < raw.length; i += 2) if (!OWN.has(raw[i]!.toLowerCase())) kept[raw[i]!] = raw[i + 1]!;
        resolve({ status: response.statusCode ?? 0, headers: kept, body: Buffer.concat(chunks) });
      });
    });
    request.on('error', reject);
    request.end();
  });
}

/** Asks both servers the same (with the same Host header) and asserts the answers are identical. */
async function same(fast: Served, slow: Served, pathAndQuery: string, headers: Record<string, string> = {}): Promise<Answer> {
  const withHost = { host: 'images.example.org', ...headers };
  const a = await ask(fast, pathAndQuery, withHost);
  const b = await ask(slow, pathAndQuery, withHost);
  assert.equal(a.status, b.status, `${pathAndQuery}: status`);
  assert.deepEqual(Object.entries(a.headers), Object.entries(b.headers), `${pathAndQuery}: headers (names, values, order)`);
  assert.ok(a.body.equals(b.body), `${pathAndQuery}: body (${a.body.length} against ${b.body.length} bytes)`);
  return a;
}

/** The tile URLs a deep-zoom viewer asks at levels 1, 1/2, … 1/maxScale of a width×height image with 256 px tiles, interior and edge. */
function tileUrls(version: 2 | 3, identifier: string, width: number, height: number, maxScale: number): string[] {
  const urls: string[] = [];
  for (let scale = 1; scale <= maxScale; scale *= 2) {
    const span = 256 * scale;
    for (let y = 0; y < height; y += span) {
      for (let x = 0; x < width; x += span) {
        const w = Math.min(span, width - x);
        const h = Math.min(span, height - y);
        const size = version === 3 ? `${Math.ceil(w / scale)},${Math.ceil(h / scale)}` : `${Math.ceil(w / scale)},`;
        urls.push(`/iiif/${version}/${identifier}/${x},${y},${w},${h}/${size}/0/default.jpg`);
      }
    }
  }
  return urls;
}

const fastStats = (server: Served): { served: number; handedOver: number } => {
  assert.ok(server.app.imageFastPath, 'the fast path is installed');
  return { ...server.app.imageFastPath.stats };
};

async function metrics(server: Served): Promise<Sample[]> {
  return parseExposition(await (await fetch(`${server.url}/metrics`)).text());
}

/** Request lines of the access log once `count` are there (they are written when a response has been sent). */
async function requestLines(server: Served, count: number): Promise<Record<string, unknown>[]> {
  const found = (): Record<string, unknown>[] => server.lines.filter((line) => line.msg === 'request');
  for (let waited = 0; found().length < count && waited < 10_000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
  return found();
}

describe('image fast path: the same answers as the route', () => {
  let cleanup: () => Promise<void>;
  let images: string;
  const WIDTH = 1100;
  const HEIGHT = 900;
  // An identifier with a slash, so the fast path decodes %2F as the route does.
  const ID = 'box/page.tif';
  const ENC = encodeURIComponent(ID);

  before(async () => {
    const tmp = await tempDir('vitrine-fast-path-');
    cleanup = tmp.cleanup;
    images = path.join(tmp.dir, 'images');
    await mkdir(path.join(images, 'box'), { recursive: true });
    // What `vips tiffsave --tile --pyramid --compression jpeg` writes: JPEG tiles of 256 with edge tiles at every level.
    await sharp(REFERENCE_PNG)
      .removeAlpha()
      .resize(WIDTH, HEIGHT, { fit: 'fill' })
      .tiff({ tile: true, tileWidth: 256, tileHeight: 256, pyramid: true, compression: 'jpeg', quality: 80 })
      .toFile(path.join(images, ID));
  });
  after(() => cleanup());

  for (const trustProxy of [false, true]) {
    it(`interior and edge tiles of every level, v3 and v2: bytes, headers, 304s, metrics and access log${trustProxy ? ' (--trust-proxy, X-Forwarded-*)' : ''}`, async () => {
      // Sources checked against their files once a minute: a check falling due (every 2 s by default) sends that request to the route.
      await withBoth({ images, trustProxy, sourceCheckIntervalMs: 60_000 }, async (fast, slow) => {
        assert.equal(slow.app.imageFastPath, null);
        const forwarded: Record<string, string> = trustProxy ? { 'x-forwarded-for': '203.0.113.9, 10.0.0.2', 'x-forwarded-host': 'proxy.example.org', 'x-forwarded-proto': 'https' } : {};
        // Levels 1 to 1/4 are stored (1/4 is one tile); 1/8, smaller than a tile, is not: it is decoded
        // (from level 1/4), as are the edge tiles a viewer asks a pixel larger than the stored level.
        const urls = [...tileUrls(3, ENC, WIDTH, HEIGHT, 8), ...tileUrls(2, ENC, WIDTH, HEIGHT, 8)];
        const edges = urls.filter((u) => !/\/256,256\/|\/256,\//.test(u));
        assert.ok(urls.length >= 40 && edges.length >= 20, `${urls.length} URLs, ${edges.length} edge tiles`);
        // As a viewer does: the description first, which opens the image (the fast path serves open images only).
        await same(fast, slow, `/iiif/3/${ENC}/info.json`, forwarded);
        const metricsBefore = [await metrics(fast), await metrics(slow)] as const;
        let asked = 0;
        let fresh = 0;
        for (const url of urls) {
          const answer = await same(fast, slow, url, { 'user-agent': 'fast-path-test', ...forwarded });
          assert.equal(answer.status, 200, url);
          assert.equal(answer.headers['content-type'], 'image/jpeg');
          const etag = answer.headers.etag!;
          // The viewer's revalidations: 304 by ETag and by date; a stale ETag is a 200, here with an Origin (CORS).
          await same(fast, slow, url, { 'if-none-match': etag, ...forwarded });
          await same(fast, slow, url, { 'if-none-match': `"stale", W/${etag}`, ...forwarded }); // weak comparison: 304
          await same(fast, slow, url, { 'if-modified-since': answer.headers['last-modified']!, ...forwarded });
          await same(fast, slow, url, { 'if-none-match': '"stale"', origin: 'https://viewer.example.org', ...forwarded });
          asked += 5;
          fresh += 2;
        }
        // The fast path answered them all: stored tiles and cheap renders.
        assert.deepEqual(fastStats(fast), { served: asked, handedOver: 0 });
        const metricsAfter = [await metrics(fast), await metrics(slow)] as const;
        for (const [name, labels] of [
          ['vitrine_http_requests_total', { kind: 'tile', status: '200' }],
          ['vitrine_http_requests_total', { kind: 'tile', status: '304' }],
          ['vitrine_image_renders_total', { strategy: 'passthrough' }],
          ['vitrine_image_renders_total', { strategy: 'jpegTiles' }],
          ['vitrine_http_request_duration_seconds_count', { kind: 'tile' }],
        ] as const) {
          const moved = metricsAfter.map((after, i) => valueOf(after, name, labels) - valueOf(metricsBefore[i]!, name, labels));
          assert.deepEqual(moved, [moved[1], moved[1]], `${name} ${JSON.stringify(labels)}`);
          assert.ok(moved[0]! > 0, `${name} ${JSON.stringify(labels)} counted`);
        }
        assert.equal(valueOf(metricsAfter[0], 'vitrine_http_requests_total', { kind: 'tile', status: '200' }) - valueOf(metricsBefore[0], 'vitrine_http_requests_total', { kind: 'tile', status: '200' }), fresh);
        // Access log: the same lines (time, duration and request id aside), in the same order.
        const strip = ({ time: _t, ms, reqId, ...rest }: Record<string, unknown>): Record<string, unknown> => {
          assert.equal(typeof ms, 'number');
          assert.match(String(reqId), /^req-[0-9a-z]+$/);
          return rest;
        };
        const tileLines = async (server: Served): Promise<Record<string, unknown>[]> =>
          (await requestLines(server, asked + 3)).filter((line) => String(line.path).startsWith('/iiif/') && !String(line.path).endsWith('info.json')).map(strip);
        const fastLines = await tileLines(fast);
        assert.equal(fastLines.length, asked);
        assert.deepEqual(fastLines, await tileLines(slow));
        assert.equal(fastLines[0]!.remote, trustProxy ? '203.0.113.9' : '127.0.0.1');
        const ids = fast.lines.map((line) => line.reqId).filter(Boolean);
        assert.equal(new Set(ids).size, ids.length, 'request ids unique across both paths');
      });
    });
  }

  it('with --base-url: no Vary, the configured origin in Link', async () => {
    const settings = { images, baseUrl: 'https://iiif.example.org/base' };
    await withBoth(settings, async (fast, slow) => {
      await same(fast, slow, `/iiif/3/${ENC}/info.json`);
      const answer = await same(fast, slow, `/iiif/3/${ENC}/1024,768,76,132/76,132/0/default.jpg`);
      assert.equal(answer.headers.vary, undefined);
      assert.match(answer.headers.link!, /^<https:\/\/iiif\.example\.org\/base\/iiif\/3\/box%2Fpage\.tif\/1024,768,76,132\/max\/0\/default\.jpg>/);
      assert.equal(fastStats(fast).served, 1);
    });
  });

  it('a tile it answered before follows its image when the file is replaced', async () => {
    const tmp = await tempDir('vitrine-fast-path-replaced-');
    const folder = path.join(tmp.dir, 'images');
    await mkdir(folder);
    const file = path.join(folder, 'page.tif');
    const pyramid = (flip: boolean) =>
      sharp(REFERENCE_PNG)
        .removeAlpha()
        .resize(600, 500, { fit: 'fill' })
        .flip(flip)
        .tiff({ tile: true, tileWidth: 256, tileHeight: 256, pyramid: true, compression: 'jpeg', quality: 80 });
    await pyramid(false).toFile(file);
    // Sources re-checked against their files every second: the change is seen a second later, and the
    // requests in between the checks are the fast path's.
    const fast = await serve({ images: folder, sourceCheckIntervalMs: 1000 }, true);
    try {
      const urls = ['/iiif/3/page.tif/0,0,256,256/256,256/0/default.jpg', '/iiif/3/page.tif/512,256,88,244/88,244/0/default.jpg'];
      await ask(fast, '/iiif/3/page.tif/info.json');
      const before = [];
      for (const url of urls) {
        before.push((await ask(fast, url)).body);
        // Asked again: from what was prepared the first time, the same bytes.
        assert.ok((await ask(fast, url)).body.equals(before.at(-1)!), url);
      }
      assert.equal(fastStats(fast).served, 4);
      await pyramid(true).toFile(`${file}.new`);
      await rename(`${file}.new`, file);
      await new Promise((resolve) => setTimeout(resolve, 1100));
      await ask(fast, '/iiif/3/page.tif/info.json');
      const reference = await serve({ images: folder }, false);
      try {
        for (const [i, url] of urls.entries()) {
          const after = await ask(fast, url);
          assert.equal(after.status, 200, url);
          assert.ok(!after.body.equals(before[i]!), `${url}: the old file's tile`);
          assert.ok(after.body.equals((await ask(reference, url)).body), `${url}: not the new file's tile`);
        }
        // Prepared again on the new file: the fast path's once more.
        const served = fastStats(fast).served;
        for (const url of urls) await ask(fast, url);
        assert.equal(fastStats(fast).served, served + urls.length);
      } finally {
        await reference.close();
      }
    } finally {
      await fast.close();
      await tmp.cleanup();
    }
  });

  it('answers cheap renders as the route does: regions, qualities, formats, rotations by 90°', async () => {
    await withBoth({ images }, async (fast, slow) => {
      await same(fast, slow, `/iiif/3/${ENC}/info.json`);
      const urls = [
        `/iiif/3/${ENC}/0,0,300,300/150,/0/default.jpg`, // a region, decoded
        `/iiif/3/${ENC}/full/275,225/0/default.jpg`, // a level a pixel larger than the stored one
        `/iiif/3/${ENC}/0,0,256,256/256,256/0/gray.jpg`, // another quality
        `/iiif/3/${ENC}/0,0,256,256/256,256/0/bitonal.png`, // another format
        `/iiif/3/${ENC}/0,0,256,256/256,256/90/default.jpg`, // rotated
        `/iiif/3/${ENC}/0,0,256,256/256,256/!180/default.webp`, // mirrored
        `/iiif/3/${ENC}/100,100,64,64/^128,128/0/default.jpg`, // upscaled
        `/iiif/2/${ENC}/pct:10,10,20,20/!200,200/0/color.jpg`,
      ];
      for (const url of urls) {
        const answer = await same(fast, slow, url);
        assert.equal(answer.status, 200, url);
        // Asked again: from what was prepared the first time, the same bytes.
        assert.ok((await ask(fast, url)).body.equals(answer.body), url);
        assert.equal((await same(fast, slow, url, { 'if-none-match': answer.headers.etag! })).status, 304, url);
      }
      assert.deepEqual(fastStats(fast), { served: 3 * urls.length, handedOver: 0 });
    });
  });

  it('keeps what it prepared within its bound, a cheap render weighing more than a stored tile', async () => {
    const bound = 3 + 2 * RENDER_WEIGHT;
    const fast = await serve({ images }, true, { imageFastPathPreparedMax: bound });
    try {
      const prepared = (): number => fast.app.imageFastPath!.prepared;
      const tiles = [0, 256, 512, 768].map((x) => `/iiif/3/${ENC}/${x},0,256,256/256,256/0/default.jpg`);
      const renders = [`/iiif/3/${ENC}/0,0,300,300/150,/0/default.jpg`, `/iiif/3/${ENC}/0,0,256,256/256,256/0/gray.jpg`, `/iiif/3/${ENC}/0,0,256,256/256,256/90/default.jpg`];
      const expected = new Map<string, Buffer>();
      const get = async (url: string): Promise<void> => {
        const answer = await ask(fast, url);
        assert.equal(answer.status, 200, url);
        if (expected.has(url)) assert.ok(answer.body.equals(expected.get(url)!), `${url}: the same bytes from what was prepared again`);
        else expected.set(url, answer.body);
      };
      // The route opens the image; the fast path answers for open images only.
      assert.equal((await ask(fast, `/iiif/3/${ENC}/info.json`)).status, 200);
      for (const url of tiles.slice(0, 3)) await get(url);
      assert.equal(prepared(), 3);
      for (const url of renders.slice(0, 2)) await get(url);
      assert.equal(prepared(), bound, 'each render counts RENDER_WEIGHT stored tiles');
      // Asked again: answered from what is kept, nothing more kept.
      for (const url of [...tiles.slice(0, 3), ...renders.slice(0, 2)]) await get(url);
      assert.equal(prepared(), bound);
      // One more, past the bound: everything is dropped, then the new answer kept.
      await get(tiles[3]!);
      assert.equal(prepared(), 1);
      await get(renders[2]!);
      assert.equal(prepared(), 1 + RENDER_WEIGHT);
      // Dropped answers are prepared anew when asked: the same bytes.
      await get(renders[0]!);
      assert.equal(prepared(), 1 + 2 * RENDER_WEIGHT);
      assert.deepEqual(fastStats(fast), { served: 13, handedOver: 0 });
    } finally {
      await fast.close();
    }
  });

  it('hands to the route, which answers as always, what is heavy or not an image request of an open image', async () => {
    await withBoth({ images }, async (fast, slow) => {
      await same(fast, slow, `/iiif/3/${ENC}/info.json`);
      const cases = [
        [`/iiif/3/${ENC}/0,0,256,256/256,256/45/default.jpg`, 200], // rotated by 45°: heavy, the route's queue
        [`/iiif/3/${ENC}/full/^1500,/0/default.jpg`, 200], // upscaled past a megapixel: heavy
        [`/iiif/3/${ENC}/0,0,256,256/256,256/0/default.jpg?x=1`, 200], // a query string
        [`/iiif/2/${ENC}/0,0,256,256/^256,/0/default.jpg`, 400], // v3 upscaling in v2
        [`/iiif/3/${ENC}/0,0,256,256/256,256/0/default.tga`, 400],
        [`/iiif/3/${ENC}/0,0,256/256,256/0/default.jpg`, 400],
        [`/iiif/3/${ENC}/-1,0,256,256/256,256/0/default.jpg`, 400],
        [`/iiif/3/${ENC}/%E0%A4%A/256,256/0/default.jpg`, 400], // malformed percent-encoding
        [`/iiif/3/missing.tif/0,0,256,256/256,256/0/default.jpg`, 404],
        [`/iiif/3/..%2F..%2Fetc%2Fpasswd/0,0,256,256/256,256/0/default.jpg`, 400], // outside the images
        [`/iiif/3//0,0,256,256/256,256/0/default.jpg`, 404],
        [`/iiif/4/${ENC}/0,0,256,256/256,256/0/default.jpg`, 404],
      ] as const;
      for (const [url, status] of cases) assert.equal((await same(fast, slow, url)).status, status, url);
      const head = await ask(fast, `/iiif/3/${ENC}/0,0,256,256/256,256/0/default.jpg`, {}, 'HEAD');
      assert.equal(head.status, 200);
      assert.equal(fastStats(fast).served, 0);
    });
  });
});

describe('image fast path: protected images go through the gate and the route', () => {
  let archive: Awaited<ReturnType<typeof protectedArchive>>;
  let fast: Served;
  let slow: Served;

  before(async () => {
    archive = await protectedArchive('vitrine-fast-path-auth-');
    // The archive's own server has no fast path to compare; two of ours over its data.
    await archive.server.close();
    const settings = { data: archive.data, authSecret: 'a-test-secret-that-is-long-enough-0123456789', externalAuthHeader: 'X-Remote-User' };
    fast = await serve(settings, true);
    slow = await serve(settings, false);
  });
  after(async () => {
    await fast?.close();
    await slow?.close();
    await archive?.cleanup();
  });

  it('a restricted image: 401 from the gate without credentials, its tile with them, never from the fast path', async () => {
    const tile = (id: string): string => `/iiif/3/${encodeURIComponent(id)}/0,0,256,256/256,256/0/default.jpg`;
    const edge = (id: string): string => `/iiif/3/${encodeURIComponent(id)}/512,256,88,194/88,194/0/default.jpg`;
    for (const id of [IDS.restricted, IDS.external, IDS.kiosk]) {
      for (const url of [tile(id), edge(id)]) {
        const denied = await same(fast, slow, url);
        assert.equal(denied.status, 401, url);
        assert.doesNotMatch(denied.headers['content-type'] ?? '', /^image\//);
      }
    }
    // The external profile trusts a header the proxy sets: with it, the route's answer (private, varying by credentials).
    const granted = await same(fast, slow, tile(IDS.external), { 'x-remote-user': 'alice' });
    assert.equal(granted.status, 200);
    assert.equal(granted.headers['cache-control'], 'private, no-cache');
    // Now its source is open (the fast path looks at open sources only): still 401 without the header, and the route's answer with it.
    for (const url of [tile(IDS.external), edge(IDS.external)]) {
      assert.equal((await same(fast, slow, url)).status, 401, url);
      assert.equal((await same(fast, slow, url, { 'x-remote-user': 'alice' })).status, 200, url);
    }
    assert.equal(fastStats(fast).served, 0, 'no protected tile from the fast path');
    assert.ok(fastStats(fast).handedOver >= 11);
    // An open image of the same archive (a catalog, a policy) is the fast path's once open (the first request opens it).
    assert.equal((await same(fast, slow, tile(IDS.open))).status, 200);
    assert.equal((await same(fast, slow, tile(IDS.open))).status, 200);
    assert.equal(fastStats(fast).served, 1);
  });
});
