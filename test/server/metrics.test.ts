import assert from 'node:assert/strict';
import { copyFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { metricsCorpus, parseExposition, scrape, valueOf, type Sample } from '../helpers/metrics.js';
import { FIXTURES, REFERENCE_ID, startServer, tempDir, type RunningServer } from '../helpers/server.js';

const REQUESTS = 'vitrine_http_requests_total';
const RENDERS = 'vitrine_image_renders_total';

/** Counter differences between two scrapes. */
const moved = (before: Sample[], after: Sample[], name: string, labels: Record<string, string> = {}): number =>
  valueOf(after, name, labels) - valueOf(before, name, labels);

async function get(url: string, headers: Record<string, string> = {}): Promise<Response> {
  const response = await fetch(url, { headers });
  await response.arrayBuffer();
  return response;
}

describe('/metrics', () => {
  let server: RunningServer;
  let cleanup: () => Promise<void>;

  before(async () => {
    const tmp = await tempDir();
    cleanup = tmp.cleanup;
    const { data } = await metricsCorpus(tmp.dir);
    await copyFile(path.join(FIXTURES, `${REFERENCE_ID}.jp2`), path.join(data, 'images', 'ref.jp2'));
    server = await startServer(undefined, { data });
  });
  after(async () => {
    await server.close();
    await cleanup();
  });

  it('serves a valid exposition with the process metrics of the server (RSS, descriptors, event loop lag)', async () => {
    const samples = await scrape(server.url);
    assert.ok(valueOf(samples, 'process_resident_memory_bytes') > 10e6, 'RSS');
    assert.ok(valueOf(samples, 'process_open_fds') > 0, 'open descriptors');
    assert.ok(samples.some((s) => s.name === 'nodejs_eventloop_lag_seconds'), 'event loop lag');
    assert.equal(valueOf(samples, 'vitrine_heavy_renders_running'), 0);
  });

  it('counts requests by kind and status, render strategies and cache lookups by the right amounts', async () => {
    const image = `${server.url}/iiif/3/pyramid.tif`;
    const first = await scrape(server.url);
    const statuses: number[] = [];
    const ask = async (url: string, headers: Record<string, string> = {}): Promise<Response> => {
      const response = await get(url, headers);
      statuses.push(response.status);
      return response;
    };
    const info = await ask(`${image}/info.json`); // info 200 (opens the source: a miss)
    await ask(`${image}/info.json`, { 'If-None-Match': info.headers.get('etag')! }); // info 304
    await ask(`${image}/0,0,256,256/256,/0/default.jpg`); // a stored tile: passthrough
    await ask(`${image}/256,256,256,256/256,/0/default.jpg`); // another
    await ask(`${image}/10,10,300,200/150,/0/default.jpg`); // small region: decoded, cheap → tile
    await ask(`${image}/full/1600,/0/default.jpg`); // 1600×1200 output: heavy → region, decoded
    await ask(`${image}/full/max/0/default.xyz`); // 400 (syntax, before the source)
    await ask(`${server.url}/iiif/3/missing.tif/info.json`); // 404 info
    await ask(`${server.url}/iiif/3/ref.jp2/0,0,256,256/256,/0/default.jpg`); // JPEG 2000 tile: block decoded
    await ask(`${server.url}/iiif/3/ref.jp2/256,0,256,256/256,/0/default.jpg`); // its neighbour: same block
    await ask(`${server.url}/iiif/manifest/book`); // manifest, built
    await ask(`${server.url}/iiif/manifest/book`); // manifest, from the cache
    await ask(`${server.url}/iiif/collection/top`);
    await ask(`${server.url}/no/such/route`); // 404 other
    await ask(`${server.url}/health`);
    assert.deepEqual(statuses, [200, 304, 200, 200, 200, 200, 400, 404, 200, 200, 200, 200, 200, 404, 200]);
    const second = await scrape(server.url);

    const requests = (kind: string, status: number): number => moved(first, second, REQUESTS, { kind, status: String(status) });
    assert.equal(requests('info', 200), 1);
    assert.equal(requests('info', 304), 1);
    assert.equal(requests('info', 404), 1);
    assert.equal(requests('tile', 200), 5, 'two stored tiles, one small region, two JPEG 2000 tiles');
    assert.equal(requests('tile', 400), 1);
    assert.equal(requests('region', 200), 1);
    assert.equal(requests('manifest', 200), 2);
    assert.equal(requests('collection', 200), 1);
    assert.equal(requests('other', 404), 1);
    assert.equal(requests('health', 200), 1);
    assert.equal(requests('metrics', 200), 1, 'the first scrape, counted once it was sent');
    const total = second.filter((s) => s.name === REQUESTS).reduce((n, s) => n + s.value, 0) - first.filter((s) => s.name === REQUESTS).reduce((n, s) => n + s.value, 0);
    assert.equal(total, statuses.length + 1, 'every request counted once, and nothing else');

    const histogramCount = (kind: string): number => moved(first, second, 'vitrine_http_request_duration_seconds_count', { kind });
    assert.equal(histogramCount('tile'), 6);
    assert.equal(histogramCount('region'), 1);
    assert.equal(moved(first, second, 'vitrine_http_request_duration_seconds_bucket', { kind: 'region', le: '+Inf' }), 1);

    assert.equal(moved(first, second, RENDERS, { strategy: 'passthrough' }), 2);
    assert.equal(moved(first, second, RENDERS, { strategy: 'jpegTiles' }) + moved(first, second, RENDERS, { strategy: 'vips' }), 2, 'the two TIFF regions decoded');
    assert.equal(moved(first, second, RENDERS, { strategy: 'jp2Area' }), 2);

    // pyramid.tif and ref.jp2 opened once each; every later lookup (304 and tiles) found them open.
    assert.equal(moved(first, second, 'vitrine_source_cache_lookups_total', { result: 'miss' }), 2);
    assert.equal(moved(first, second, 'vitrine_source_cache_lookups_total', { result: 'hit' }), 6);
    assert.equal(valueOf(second, 'vitrine_open_sources'), 2);
    assert.equal(moved(first, second, 'vitrine_jp2_block_cache_lookups_total', { result: 'miss' }), 1);
    assert.equal(moved(first, second, 'vitrine_jp2_block_cache_lookups_total', { result: 'hit' }), 1);
    assert.equal(moved(first, second, 'vitrine_manifest_cache_lookups_total', { result: 'miss' }), 1);
    assert.equal(moved(first, second, 'vitrine_manifest_cache_lookups_total', { result: 'hit' }), 1);
  });

  it('labels requests by route, never by URL: identifiers do not become label values', async () => {
    for (let n = 0; n < 5; n++) await get(`${server.url}/iiif/3/unknown-${n}.tif/info.json`);
    const samples = await scrape(server.url);
    const kinds = new Set(samples.filter((s) => s.name === REQUESTS).map((s) => s.labels.kind));
    for (const kind of kinds) assert.match(kind!, /^(tile|region|info|manifest|collection|web|health|metrics|other)$/);
    assert.ok(!samples.some((s) => Object.values(s.labels).some((v) => v.includes('unknown-'))), 'no identifier in any label');
  });

  it('keeps each app in its own registry', async () => {
    const tmp = await tempDir();
    const other = await startServer(tmp.dir);
    try {
      const samples = await scrape(other.url);
      assert.equal(valueOf(samples, REQUESTS, { kind: 'info', status: '200' }), 0, "the other app's requests are not counted here");
      assert.equal(valueOf(samples, RENDERS, { strategy: 'passthrough' }), 0);
    } finally {
      await other.close();
      await tmp.cleanup();
    }
  });
});

describe('/metrics settings', () => {
  it('asks the bearer token when --metrics-token is set, and counts requests all the same', async () => {
    const tmp = await tempDir();
    const token = 'scrape-secret-0123456789';
    const server = await startServer(tmp.dir, { metricsToken: token });
    try {
      const refused = await fetch(`${server.url}/metrics`);
      assert.equal(refused.status, 401);
      assert.equal(refused.headers.get('www-authenticate'), 'Bearer realm="metrics"');
      assert.doesNotMatch(await refused.text(), /vitrine_/);
      assert.equal((await fetch(`${server.url}/metrics`, { headers: { Authorization: `Bearer ${token}x` } })).status, 401);
      const samples = await scrape(server.url, { Authorization: `Bearer ${token}` });
      assert.equal(valueOf(samples, REQUESTS, { kind: 'metrics', status: '401' }), 2);
    } finally {
      await server.close();
      await tmp.cleanup();
    }
  });

  it('serves no /metrics with --metrics off', async () => {
    const tmp = await tempDir();
    const server = await startServer(tmp.dir, { metrics: 'off' });
    try {
      assert.equal((await fetch(`${server.url}/metrics`)).status, 404);
      assert.equal(server.app.metrics, undefined);
    } finally {
      await server.close();
      await tmp.cleanup();
    }
  });

  it('parses what it should reject (the helper is strict)', () => {
    assert.throws(() => parseExposition('vitrine_x{kind="tile"}\n'), /not a Prometheus sample line/);
    assert.throws(() => parseExposition('vitrine_x one\n'), /not a number/);
  });
});
