import assert from 'node:assert/strict';
import { copyFile, readFile, readdir, readlink } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { SourceCache } from '../../src/imaging/source-cache.js';
import { get } from '../helpers/iiif.js';
import { FIXTURES, REFERENCE_ID, REFERENCE_PNG, startServer, tempDir, type RunningServer } from '../helpers/server.js';

/**
 * Open sources are reference-counted: the cache evicting a source (LRU, file changed) must neither
 * close the descriptor under a request still reading it (EBADF, or worse a descriptor number the
 * kernel has given to another file) nor keep evicted descriptors open after their last request.
 */

const FILES = 12;

/** Where this process's open descriptors point (Linux /proc). */
async function openFilesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const fd of await readdir('/proc/self/fd')) {
    const target = await readlink(`/proc/self/fd/${fd}`).catch(() => '');
    if (target.startsWith(dir + path.sep)) out.push(target);
  }
  return out;
}

describe('open sources are reference-counted', () => {
  let dir: string;
  let cleanup: () => Promise<void>;

  before(async () => {
    ({ dir, cleanup } = await tempDir());
    // Pyramidal JPEG-tiled TIFFs, each with different pixels (a hue per file), so that a read
    // through another file's descriptor shows as wrong bytes, and JPEG 2000 copies.
    for (let i = 0; i < FILES; i++) {
      await sharp(REFERENCE_PNG)
        .removeAlpha()
        .resize(900, 700, { fit: 'fill' })
        .modulate({ hue: i * 30 })
        .tiff({ tile: true, pyramid: true, compression: 'jpeg', quality: 85, tileWidth: 256, tileHeight: 256 })
        .toFile(path.join(dir, `page-${i}.tif`));
      await copyFile(path.join(FIXTURES, `${REFERENCE_ID}.jp2`), path.join(dir, `page-${i}.jp2`));
    }
  });
  after(() => cleanup());

  it('a source evicted while leased stays readable, and its descriptor closes when the lease is released', async () => {
    const cache = new SourceCache(1, 60_000);
    const first = path.join(dir, 'page-0.tif');
    const lease = await cache.acquire(first);
    // Evict it: the cache holds one source.
    const other = await cache.acquire(path.join(dir, 'page-1.tif'));
    other.release();
    const expected = (await readFile(first)).subarray(100, 4196);
    assert.deepEqual(await lease.source.readBytes(100, 4096), expected, 'evicted but leased: still reads its own file');
    assert.equal(await readlink(`/proc/self/fd/${(await lease.source.localFile()).descriptor}`), first);
    lease.release();
    lease.release(); // a second release is harmless
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(await openFilesUnder(dir), [path.join(dir, 'page-1.tif')], 'only the cached source is still open');
    cache.clear();
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(await openFilesUnder(dir), [], 'cleared and released: nothing open');
  });

  describe('over HTTP, with a source cache of 2', () => {
    let small: RunningServer;
    let large: RunningServer;
    before(async () => {
      small = await startServer(dir, { sourceCacheSize: 2, sourceCheckIntervalMs: 0 });
      large = await startServer(dir);
    });
    after(async () => {
      await small.close();
      await large.close();
    });

    it('keeps no more descriptors open than the cache holds once requests are done', async () => {
      await large.close();
      for (let i = 0; i < FILES; i++) {
        for (const ext of ['tif', 'jp2']) assert.equal((await get(`${small.url}/iiif/3/page-${i}.${ext}/info.json`)).status, 200);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
      const open = await openFilesUnder(dir);
      assert.ok(open.length <= 2, `${open.length} descriptors still open: ${open.map((f) => path.basename(f)).join(', ')}`);
      large = await startServer(dir);
    });

    it('concurrent requests over many files, evicting each other, all get the right image', async () => {
      const requests: string[] = [];
      for (let i = 0; i < FILES; i++) {
        requests.push(
          `page-${i}.tif/0,0,256,256/256,256/0/default.jpg`, // stored tile, read through the descriptor
          `page-${i}.tif/100,80,500,400/250,/0/default.jpg`, // region decoded from stored tiles
          `page-${i}.tif/full/300,/0/default.png`,
          `page-${i}.jp2/full/150,/0/default.png`, // OpenJPEG reads the descriptor
          `page-${i}.jp2/100,100,200,200/100,/0/default.jpg`,
        );
      }
      const expected = new Map<string, Buffer>();
      for (const r of requests) {
        const got = await get(`${large.url}/iiif/3/${r}`);
        assert.equal(got.status, 200, `${r}: ${got.text.slice(0, 200)}`);
        expected.set(r, got.body);
      }
      // Every request three times, all at once, in an order that makes the two cached sources churn.
      const all = [...requests, ...requests.slice().reverse(), ...requests];
      const results = await Promise.all(all.map((r) => get(`${small.url}/iiif/3/${r}`).then((got) => ({ r, got }))));
      for (const { r, got } of results) {
        assert.equal(got.status, 200, `${r}: ${got.text.slice(0, 200)}`);
        assert.ok(got.body.equals(expected.get(r)!), `${r}: not the image a server with a large cache answers`);
      }
    });
  });
});
