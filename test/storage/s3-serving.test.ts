import assert from 'node:assert/strict';
import { copyFile, mkdir, readdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { openSource } from '../../src/imaging/open-source.js';
import { vitrine } from '../helpers/cli.js';
import { expectError, get } from '../helpers/iiif.js';
import { decode, fetchBytes, meanAbsDiff } from '../helpers/pixels.js';
import { startS3, type RunningS3 } from '../helpers/s3.js';
import { FIXTURES, REFERENCE_ID, REFERENCE_PNG, startServer, tempDir, type RunningServer } from '../helpers/server.js';

/**
 * `vitrine serve --images s3://bucket/prefix` against s3rver on loopback: the same answers as the
 * same files served locally (info.json, stored tiles byte for byte, regions, sizes, rotations pixel
 * for pixel), bytes fetched per tile bounded, the local cache, a changed object, identifiers that
 * would escape the prefix, a missing object or bucket, and a store that is down.
 */

const BLOCK = 32 * 1024;
const PNG = `${REFERENCE_ID}.png`;
const JP2 = `${REFERENCE_ID}.jp2`;

interface S3Health {
  gets: number;
  bytesFetched: number;
  heads: number;
  lists: number;
  downloads: number;
}

async function s3Stats(server: RunningServer): Promise<S3Health> {
  const got = await get(`${server.url}/health`);
  const health = JSON.parse(got.text) as { s3?: S3Health };
  assert.ok(health.s3, '/health reports the S3 counters');
  return health.s3;
}

async function pixelsOf(url: string): Promise<ReturnType<typeof decode>> {
  return decode((await fetchBytes(url)).body);
}

describe('serving images from S3', () => {
  let s3: RunningS3;
  let local: RunningServer;
  let remote: RunningServer;
  let dir: string;
  let cleanup: () => Promise<void>;
  let pyramid: string;

  const serveS3 = (name: string, settings: Record<string, unknown> = {}): Promise<RunningServer> =>
    startServer(undefined, {
      images: `s3://${s3.bucket}/iiif`,
      s3Endpoint: s3.endpoint,
      cacheDir: path.join(dir, name),
      sourceCheckIntervalMs: 60_000,
      ...settings,
    });

  before(async () => {
    ({ dir, cleanup } = await tempDir('vitrine-s3-test-'));
    // A pyramidal TIFF made by `vitrine convert` from a 2000×1500 master.
    const masters = path.join(dir, 'masters', 'book');
    await mkdir(masters, { recursive: true });
    await sharp(REFERENCE_PNG).removeAlpha().resize(2000, 1500, { fit: 'fill' }).tiff({ compression: 'lzw' }).toFile(path.join(masters, 'page1.tif'));
    const converted = await vitrine('convert', path.join(dir, 'masters'), '--out', path.join(dir, 'out'), '--workers', '1');
    assert.equal(converted.code, 0, converted.stderr);
    const images = path.join(dir, 'out', 'images');
    const tifs = (await readdir(images, { recursive: true })).filter((f) => f.endsWith('.tif'));
    assert.equal(tifs.length, 1, `one derivative: ${tifs.join(', ')}`);

    const served = path.join(dir, 'local');
    await mkdir(served);
    pyramid = path.join(served, 'page.tif');
    await copyFile(path.join(images, tifs[0]!), pyramid);
    await copyFile(REFERENCE_PNG, path.join(served, PNG));
    await copyFile(path.join(FIXTURES, JP2), path.join(served, JP2));

    s3 = await startS3();
    for (const name of ['page.tif', PNG, JP2]) await s3.put(`iiif/${name}`, path.join(served, name));
    await s3.put('secret.png', REFERENCE_PNG);
    await s3.put('iiif-other/secret.png', REFERENCE_PNG);
    local = await startServer(served);
    remote = await serveS3('cache');
  });
  after(async () => {
    await remote?.close();
    await local?.close();
    await s3?.close();
    await cleanup();
  });

  it('answers info.json as the same files served locally do', async () => {
    for (const id of ['page', 'page.tif', REFERENCE_ID, PNG, JP2]) {
      const want = JSON.parse((await fetchBytes(`${local.url}/iiif/3/${id}/info.json`)).body.toString()) as Record<string, unknown>;
      const got = JSON.parse((await fetchBytes(`${remote.url}/iiif/3/${id}/info.json`)).body.toString()) as Record<string, unknown>;
      assert.ok(String(got.id).endsWith(`/iiif/3/${id}`));
      assert.deepEqual({ ...got, id: undefined }, { ...want, id: undefined }, id);
    }
  });

  it('passes stored tiles through byte for byte, at every level', async () => {
    const source = await openSource(pyramid);
    try {
      assert.ok(source.info.levels.length >= 3 && source.info.levels.every((l) => l.jpegTiles), 'a JPEG-tiled pyramid');
      for (const level of source.info.levels) {
        const span = level.tile!.width * Math.round(level.scale);
        for (const [x, y] of [
          [0, 0],
          [span, 0],
          [Math.floor((source.info.width - 1) / span) * span, Math.floor((source.info.height - 1) / span) * span],
        ] as const) {
          if (x >= source.info.width) continue;
          const w = Math.min(span, source.info.width - x);
          const h = Math.min(span, source.info.height - y);
          const url = `/iiif/3/page/${x},${y},${w},${h}/${Math.ceil(w / Math.round(level.scale))},/0/default.jpg`;
          const want = (await fetchBytes(local.url + url)).body;
          const got = (await fetchBytes(remote.url + url)).body;
          assert.ok(got.equals(want), `${url}: the same bytes`);
        }
      }
    } finally {
      await source.close();
    }
  });

  it('renders regions, sizes, rotations, mirroring and qualities of TIFF, PNG and JPEG 2000 pixel for pixel as locally', async () => {
    const requests = [
      ['page', '100,200,900,700/450,/0/default.png'],
      ['page', 'full/300,/90/default.jpg'],
      ['page', 'square/200,200/!180/gray.png'],
      ['page', 'pct:10,10,50,50/max/22.5/default.png'],
      [PNG, '0,0,300,200/max/0/default.png'],
      [PNG, 'full/!200,200/270/bitonal.png'],
      [JP2, '256,256,256,256/256,/0/default.png'],
      [JP2, 'full/250,/0/default.jpg'],
      [JP2, '100,100,500,300/max/!90/color.png'],
    ] as const;
    for (const [id, rest] of requests) {
      const url = `/iiif/3/${id}/${rest}`;
      const want = await pixelsOf(local.url + url);
      const got = await pixelsOf(remote.url + url);
      assert.equal(meanAbsDiff(got, want), 0, url);
    }
  });

  it('fetches about one tile of bytes per new tile, reads the header once, and never fetches a cached tile again', async () => {
    const fresh = await serveS3('per-tile');
    const source = await openSource(pyramid);
    try {
      await fetchBytes(`${fresh.url}/iiif/3/page.tif/info.json`);
      const opened = await s3Stats(fresh);
      const level = source.info.levels[0]!;
      const grid = level.jpegTiles!;
      const across = Math.ceil(level.width / level.tile!.width);
      for (const [col, row] of [
        [2, 2],
        [5, 3],
        [3, 4],
      ] as const) {
        const index = row * across + col;
        const before = await s3Stats(fresh);
        const url = `${fresh.url}/iiif/3/page.tif/${col * 256},${row * 256},256,256/256,/0/default.jpg`;
        await fetchBytes(url);
        const after = await s3Stats(fresh);
        const offset = grid.offsets[index]!;
        const blocks = Math.floor((offset + grid.byteCounts[index]! - 1) / BLOCK) - Math.floor(offset / BLOCK) + 1;
        const fetched = after.bytesFetched - before.bytesFetched;
        assert.ok(fetched <= blocks * BLOCK, `tile ${col},${row}: ${fetched} bytes fetched for a ${grid.byteCounts[index]}-byte tile (${blocks} blocks)`);
        assert.ok(after.gets - before.gets <= 1, 'neighbouring blocks come in one GetObject');
        // The same tile again: from the local cache, no request to S3 at all.
        await fetchBytes(url);
        const again = await s3Stats(fresh);
        assert.equal(again.gets, after.gets, 'a cached tile makes no GetObject');
        assert.equal(again.heads + again.lists, after.heads + after.lists, 'nor any other request');
      }
      const end = await s3Stats(fresh);
      assert.equal(end.heads, opened.heads, 'the header was read once: no HeadObject per tile');
      assert.equal(end.downloads, 0, 'tiles never download the whole object');
    } finally {
      await source.close();
      await fresh.close();
    }
    // A restarted server on the same cache folder fetches none of those bytes again.
    const restarted = await serveS3('per-tile');
    try {
      await fetchBytes(`${restarted.url}/iiif/3/page.tif/512,512,256,256/256,/0/default.jpg`);
      assert.equal((await s3Stats(restarted)).gets, 0, 'header and tile read from the disk cache');
    } finally {
      await restarted.close();
    }
  });

  it('serves the new pixels of a changed object (a new ETag), never the cached old ones', async () => {
    const changing = await serveS3('changing', { sourceCheckIntervalMs: 0 });
    try {
      const picture = (hue: number) =>
        sharp(REFERENCE_PNG).removeAlpha().modulate({ hue }).tiff({ tile: true, pyramid: true, compression: 'jpeg', tileWidth: 256, tileHeight: 256 }).toBuffer();
      const url = `${changing.url}/iiif/3/changing/0,0,256,256/256,/0/default.png`;
      const first = await picture(0);
      await s3.put('iiif/changing.tif', first);
      const before = await pixelsOf(url);
      const second = await picture(180);
      await s3.put('iiif/changing.tif', second);
      const after = await pixelsOf(url);
      const want = await decode(sharp(second).extract({ left: 0, top: 0, width: 256, height: 256 }).png());
      assert.ok(meanAbsDiff(before, after) > 10, 'the pixels changed');
      assert.ok(meanAbsDiff(after, want) < 1, 'and they are the new object’s');
    } finally {
      await changing.close();
    }
  });

  it('refuses identifiers that would leave the prefix, with or without encoded slashes', async () => {
    for (const id of ['..%2Fsecret.png', 'a%2F..%2F..%2Fsecret', '%2Fsecret.png', '.%2F' + PNG, '..%2Fiiif-other%2Fsecret']) {
      await expectError(`${remote.url}/iiif/3/${id}/info.json`, 400, /identifier/);
    }
    // A key that merely starts like the prefix is outside it.
    await expectError(`${remote.url}/iiif/3/-other%2Fsecret.png/info.json`, 404, /no such image/);
  });

  it('answers 404 with a clear message for a missing object or bucket', async () => {
    await expectError(`${remote.url}/iiif/3/nothing-here/info.json`, 404, `identifier 'nothing-here': no such image`);
    const nobucket = await startServer(undefined, { images: 's3://no-such-bucket/x', s3Endpoint: s3.endpoint, cacheDir: path.join(dir, 'nobucket') });
    try {
      await expectError(`${nobucket.url}/iiif/3/page/info.json`, 404, `S3 bucket 'no-such-bucket' does not exist`);
    } finally {
      await nobucket.close();
    }
  });

  it('answers 503 with a clear message when S3 is down, keeps running, and never shows the credentials', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as { port: number }).port;
    await new Promise((resolve) => closed.close(resolve));
    const down = await startServer(undefined, { images: 's3://images/iiif', s3Endpoint: `http://127.0.0.1:${port}`, cacheDir: path.join(dir, 'down') });
    try {
      const got = await expectError(`${down.url}/iiif/3/page/0,0,256,256/256,/0/default.jpg`, 503, /S3 storage at http:\/\/127\.0\.0\.1:\d+ is unreachable/);
      assert.ok(!got.text.includes('S3RVER'), 'no credentials in the message');
      assert.equal((await get(`${down.url}/health`)).status, 200, 'the server still answers');
    } finally {
      await down.close();
    }
    // Wrong credentials: S3 refuses; the message says so without the secret.
    const { AWS_ACCESS_KEY_ID: key, AWS_SECRET_ACCESS_KEY: secret } = process.env;
    process.env.AWS_ACCESS_KEY_ID = 'NOTAKEY5F2A9C';
    process.env.AWS_SECRET_ACCESS_KEY = 'not-the-secret-5f2a9c';
    const refused = await serveS3('refused');
    try {
      const got = await get(`${refused.url}/iiif/3/page/info.json`);
      assert.equal(got.status, 502, got.text);
      assert.match(got.text, /S3 refused access \(\w+\); check the credentials/);
      assert.ok(!got.text.includes('not-the-secret-5f2a9c') && !got.text.includes('NOTAKEY5F2A9C'), got.text);
    } finally {
      process.env.AWS_ACCESS_KEY_ID = key;
      process.env.AWS_SECRET_ACCESS_KEY = secret;
      await refused.close();
    }
  });
});
