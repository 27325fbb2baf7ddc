import assert from 'node:assert/strict';
import { mkdir, open, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { serveCli, type CliServer } from '../helpers/cli.js';
import { pagePicture } from '../helpers/corpus.js';
import { decode, fetchBytes, assertSimilar } from '../helpers/pixels.js';
import { assertValid3, crawl, getJson, type Json } from '../helpers/presentation.js';
import { tempDir } from '../helpers/server.js';
import { SqliteSearchIndex } from '../../src/search/sqlite-index.js';

// Acceptance 1 of the ingest service, on the embedded default: `vitrine serve --data D --watch M`
// turns an object folder copied into M (slowly, file by file) into a served manifest; a replaced
// page gives an Update activity and new pixels; a removed folder a Delete and a 410.

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it returns a value (a deadline only turns a hang into a clear failure). */
async function eventually<T>(what: string, check: () => Promise<T | undefined>, within = 120_000): Promise<T> {
  for (const end = Date.now() + within; ; await sleep(250)) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > end) assert.fail(`${what}: not within ${within / 1000} s`);
  }
}

/** Writes a file in pieces with pauses between, as a slow copy over a network share does. */
async function copySlowly(file: string, bytes: Buffer, pieces = 3, pauseMs = 300): Promise<void> {
  const handle = await open(file, 'w');
  try {
    const step = Math.ceil(bytes.length / pieces);
    for (let at = 0; at < bytes.length; at += step) {
      await handle.write(bytes.subarray(at, at + step));
      await sleep(pauseMs);
    }
  } finally {
    await handle.close();
  }
}

const page = (n: number): Promise<Buffer> => pagePicture(n, 320, 240).png().toBuffer();

/** Every activity of the Change Discovery stream, oldest first. */
async function activities(base: string): Promise<Json[]> {
  const { body } = await getJson(`${base}/iiif/activity/all-changes`);
  const items: Json[] = [];
  for (let url: string | undefined = body.first?.id as string | undefined; url; ) {
    const { body: p } = await getJson(url);
    items.push(...(p.orderedItems as Json[]));
    url = p.next?.id as string | undefined;
  }
  return items;
}

/** Asserts that canvas `i` of the manifest shows page `n` (320 × 240). */
async function canvasShows(manifest: Json, i: number, n: number): Promise<void> {
  const service = manifest.items[i].items[0].items[0].body.service[0];
  const { body } = await fetchBytes(`${service.id as string}/full/max/0/default.png`);
  // The derivative is JPEG-compressed (quality 85): close, not equal; another page differs by tens.
  assertSimilar(await decode(body, 3), await decode(await page(n), 3), 4, `canvas ${i + 1} shows page ${n}`);
}

describe('vitrine serve --watch: new scans become served manifests on their own', () => {
  it('converts a folder copied in slowly, updates a replaced page, withdraws a removed folder', { timeout: 600_000 }, async () => {
    const { dir, cleanup } = await tempDir();
    const masters = path.join(dir, 'masters');
    const data = path.join(dir, 'data');
    await mkdir(masters);
    let server: CliServer | undefined;
    try {
      server = await serveCli(['--data', data, '--watch', masters, '--watch-stable', '1500', '--port', '0']);
      const base = server.url;
      // No wait for the watcher: it starts before the server answers, so scans arriving from then on are seen.
      const folder = path.join(masters, 'box1', 'letters');
      await mkdir(folder, { recursive: true });
      const arrived = Date.now();
      // Page 1's OCR text comes along (indexed by the ingest, and withdrawn with the object).
      await writeFile(path.join(folder, 'p1.txt'), 'zephyrine letters\n');
      for (const n of [1, 2, 3]) await copySlowly(path.join(folder, `p${n}.png`), await page(n));

      const top = `${base}/iiif/collection/top`;
      const manifestUrl = await eventually('the manifest reachable from the top collection', async () => (await crawl(top)).manifests[0]);
      const { body: manifest } = await getJson(manifestUrl);
      const seconds = (Date.now() - arrived) / 1000;
      assertValid3(manifest, 'the ingested manifest');
      assert.equal(manifest.items.length, 3, 'three canvases');
      for (const [i, n] of [1, 2, 3].entries()) await canvasShows(manifest, i, n);
      console.log(`# folder arrival to manifest: ${seconds.toFixed(1)} s (copy included)`);

      // A page replaced in place: an Update of the manifest, and the new pixels served.
      const before = (await activities(base)).length;
      await copySlowly(path.join(folder, 'p2.png'), await page(5));
      const update = await eventually('an Update activity for the manifest', async () =>
        (await activities(base)).slice(before).find((a) => a.type === 'Update' && a.object.id === manifestUrl),
      );
      assert.ok(update);
      const { body: updated } = await getJson(manifestUrl);
      await eventually('the replaced page served', async () => {
        await canvasShows(updated, 1, 5);
        return true;
      });
      await canvasShows(updated, 0, 1);

      // The folder removed: a Delete, the manifest Gone, the collection without it, its text out of the index.
      const objectId = decodeURIComponent(manifestUrl.slice(`${base}/iiif/manifest/`.length));
      const textPages = (): number => {
        const index = new SqliteSearchIndex(path.join(data, 'catalog.sqlite'), { readonly: true });
        try {
          return index.objectPages(objectId).size;
        } finally {
          index.close();
        }
      };
      assert.equal(textPages(), 1, 'the ingest indexed the text of page 1');
      await rm(folder, { recursive: true });
      await eventually('a Delete activity for the manifest', async () => (await activities(base)).find((a) => a.type === 'Delete' && a.object.id === manifestUrl));
      assert.equal((await fetch(manifestUrl)).status, 410, 'the withdrawn manifest answers 410 Gone');
      assert.deepEqual((await crawl(top)).manifests, [], 'no manifest left in the collections');
      assert.match(server.output(), /watch: box1\/letters is gone: object \S+ withdrawn \(3 page\(s\), derivatives kept\)/);
      assert.equal(textPages(), 0, "the withdrawn object's text is gone from the index");
    } catch (error) {
      console.log(server?.output());
      throw error;
    } finally {
      await server?.stop();
      await cleanup();
    }
  });
});
