import assert from 'node:assert/strict';
import { copyFile, cp, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { Catalog } from '../../src/catalog/catalog.js';
import { runConversion, type ConversionOptions, type ConversionReport } from '../../src/pipeline/run.js';
import { encodePath } from '../../src/presentation/urls.js';
import { pagePicture } from '../helpers/corpus.js';
import { assertSimilar, decode, fetchBytes } from '../helpers/pixels.js';
import { assertValid3, getJson, type Json } from '../helpers/presentation.js';
import { startServer, tempDir, type RunningServer } from '../helpers/server.js';
import { OBJECTS, writeMasters } from './corpus.js';

const DISCOVERY = 'http://iiif.io/api/discovery/1/context.json';
const PAGE_SIZE = 4;
const SETTINGS = { format: 'ptiff', quality: 90, tileSize: 256, maxInputPixels: 100_000_000 } as const;

/** An object reference as Change Discovery 1.0 requires it (§3.1 first/last, §3.2 partOf/prev/next). */
function assertRef(value: unknown, type: string, what: string): void {
  const ref = value as Json;
  assert.equal(typeof ref?.id, 'string', `${what}: id`);
  assert.match(ref.id as string, /^https?:\/\//, `${what}: id is an HTTP(S) URI`);
  assert.equal(ref.type, type, `${what}: type`);
}

/** Change Discovery 1.0 §3.1: the OrderedCollection. */
function assertCollection(body: Json, url: string): void {
  assert.equal(body['@context'], DISCOVERY);
  assert.equal(Object.keys(body)[0], '@context', '@context comes first (§3.4.1)');
  assert.equal(body.id, url);
  assert.equal(body.type, 'OrderedCollection');
  assert.ok(Number.isInteger(body.totalItems) && body.totalItems >= 0, 'totalItems: a non-negative integer');
  assertRef(body.first, 'OrderedCollectionPage', 'first');
  assertRef(body.last, 'OrderedCollectionPage', 'last');
}

/** Change Discovery 1.0 §3.2 and §3.3: a page and its activities. */
function assertPage(body: Json, url: string, collection: string): void {
  assert.equal(body['@context'], DISCOVERY);
  assert.equal(body.id, url);
  assert.equal(body.type, 'OrderedCollectionPage');
  assertRef(body.partOf, 'OrderedCollection', 'partOf');
  assert.equal(body.partOf.id, collection);
  assert.ok(Number.isInteger(body.startIndex) && body.startIndex >= 0, 'startIndex');
  assert.ok(Array.isArray(body.orderedItems), 'orderedItems: an array');
  for (const activity of body.orderedItems as Json[]) {
    assert.ok(['Create', 'Update', 'Delete'].includes(activity.type as string), `activity type ${String(activity.type)}`);
    assertRef(activity.object, activity.object.type as string, 'object');
    assert.ok(['Manifest', 'Collection'].includes(activity.object.type as string), 'object type');
    assert.match(activity.endTime as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/, 'endTime: xsd:dateTime in UTC');
  }
}

interface Stream {
  readonly total: number;
  readonly activities: Json[];
  readonly pages: Json[];
}

/** Reads the whole stream as a harvester starting from scratch would, from the first page forward, checking every document. */
async function harvest(base: string): Promise<Stream> {
  const url = `${base}/iiif/activity/all-changes`;
  const { body: collection } = await getJson(url);
  assertCollection(collection, url);
  const pages: Json[] = [];
  let next: string | undefined = collection.first.id as string;
  while (next !== undefined) {
    const { body: page } = await getJson(next);
    assertPage(page, next, url);
    pages.push(page);
    next = page.next?.id as string | undefined;
  }
  assert.equal(pages.at(-1)!.id, collection.last.id, 'following next from first ends at last');
  const activities = pages.flatMap((p) => p.orderedItems as Json[]);
  assert.equal(activities.length, collection.totalItems, 'totalItems counts every activity');
  const times = activities.map((a) => Date.parse(a.endTime as string));
  assert.deepEqual(times, [...times].sort((a, b) => a - b), 'newest last, within and across pages');
  return { total: collection.totalItems as number, activities, pages };
}

const summary = (activities: Json[]): string[] => activities.map((a) => `${String(a.type)} ${String(a.object.type)} ${String(a.object.id)}`);

describe('Change Discovery API 1.0 from the catalog, and withdrawn objects', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let masters: string;
  let out: string;
  let server: RunningServer;
  let base: string;
  const manifestUrl = (id: string): string => `${base}/iiif/manifest/${encodePath(id)}`;
  const convert = (options: Partial<ConversionOptions> = {}): Promise<ConversionReport> =>
    runConversion({ masters, out, workers: 2, settings: SETTINGS, dryRun: false, ...options });
  /** The Image API URL of an object's first page, from its manifest. */
  const firstImage = async (id: string): Promise<string> => {
    const { body } = await getJson(manifestUrl(id));
    return `${String(body.items[0].items[0].items[0].body.service[0].id)}/full/max/0/default.png`;
  };

  before(async () => {
    ({ dir, cleanup } = await tempDir('vitrine-changes-'));
    masters = path.join(dir, 'masters');
    out = path.join(dir, 'out');
    await writeMasters(masters);
    const report = await convert();
    assert.equal(report.totals.failed, 0, JSON.stringify(report.failed));
    // No resolution cache: a withdrawal shows on the very next request.
    server = await startServer(undefined, { data: out, activityPageSize: PAGE_SIZE, sourceCheckIntervalMs: 0 });
    base = server.url;
  });
  after(async () => {
    await server?.close();
    await cleanup();
  });

  it('gives every converted object a Create, its manifest URL as object id, and pages the stream', async () => {
    const stream = await harvest(base);
    assert.deepEqual(
      summary(stream.activities).sort(),
      OBJECTS.map((o) => `Create Manifest ${manifestUrl(o.id)}`).sort(),
    );
    // Six activities, four per page: first page 0 (no prev), last page 1 (no next).
    assert.equal(stream.total, OBJECTS.length);
    assert.equal(stream.pages.length, 2);
    const [first, last] = stream.pages as [Json, Json];
    assert.equal(first.id, `${base}/iiif/activity/page/0`);
    assert.equal(first.startIndex, 0);
    assert.equal(first.prev, undefined);
    assert.equal(first.next.id, last.id);
    assert.equal(last.startIndex, PAGE_SIZE);
    assert.equal(last.prev.id, first.id);
    assert.equal(last.next, undefined);
    assert.equal((first.orderedItems as Json[]).length, PAGE_SIZE);
    // Every object id resolves to its manifest.
    for (const a of stream.activities) assert.equal((await getJson(a.object.id as string)).body.id, a.object.id);
  });

  it('is declared from the top collection, and answers with the Discovery media type, CORS and validators', async () => {
    const { body: top } = await getJson(`${base}/iiif/collection/top`);
    assertValid3(top, 'top collection');
    assert.deepEqual(top.service, [{ id: `${base}/iiif/activity/all-changes`, type: 'OrderedCollection', profile: DISCOVERY }]);
    const { body: sub } = await getJson(`${base}/iiif/collection/Fonds-A`);
    assert.equal(sub.service, undefined, 'only the top collection links the stream');
    const { body: top2 } = await getJson(`${base}/iiif/presentation/2/collection/top`);
    assert.equal(top2.service['@id'], `${base}/iiif/activity/all-changes`);

    const response = await fetch(`${base}/iiif/activity/all-changes`, { headers: { origin: 'https://viewer.example.org' } });
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^application\/ld\+json; ?profile="http:\/\/iiif\.io\/api\/discovery\/1\/context\.json"/);
    assert.equal(response.headers.get('access-control-allow-origin'), '*');
    const etag = response.headers.get('etag');
    assert.ok(etag && response.headers.get('last-modified'));
    const again = await fetch(`${base}/iiif/activity/all-changes`, { headers: { 'if-none-match': etag } });
    assert.equal(again.status, 304);
    const plain = await fetch(`${base}/iiif/activity/page/0`, { headers: { accept: 'application/json' } });
    assert.match(plain.headers.get('content-type') ?? '', /^application\/json/);
    assert.equal((await fetch(`${base}/iiif/activity/page/2`)).status, 404);
    const bad = await fetch(`${base}/iiif/activity/page/first`);
    assert.equal(bad.status, 400);
    assert.match(await bad.text(), /page 'first': expected a page number/);
  });

  it('adds nothing when an unchanged folder is converted again', async () => {
    const before = await fetch(`${base}/iiif/activity/page/1`);
    const report = await convert();
    assert.equal(report.totals.converted, 0);
    assert.deepEqual(report.withdrawn, []);
    const stream = await harvest(base);
    assert.equal(stream.total, OBJECTS.length);
    const after = await fetch(`${base}/iiif/activity/page/1`, { headers: { 'if-none-match': before.headers.get('etag')! } });
    assert.equal(after.status, 304, 'the last page is the same document');
  });

  it('records an Update when a master is replaced, and the served page shows the new pixels', async () => {
    const image = await firstImage('plain');
    const [page] = OBJECTS.find((o) => o.id === 'plain')!.pages;
    assertSimilar(await decode((await fetchBytes(image)).body, 3), await decode(pagePicture(page!.picture, page!.width, page!.height), 3), 3, 'before');
    // Same name and size, other pixels.
    await pagePicture(12, page!.width, page!.height).png().toFile(path.join(masters, 'plain', page!.file));
    const report = await convert();
    assert.equal(report.totals.converted, 1);
    const stream = await harvest(base);
    assert.equal(stream.total, OBJECTS.length + 1);
    assert.deepEqual(summary(stream.activities.slice(-1)), [`Update Manifest ${manifestUrl('plain')}`]);
    assertSimilar(await decode((await fetchBytes(image)).body, 3), await decode(pagePicture(12, page!.width, page!.height), 3), 3, 'after');
  });

  it('records an Update when only the descriptive metadata changes', async () => {
    await writeFile(path.join(masters, 'Fonds A/Box 2/manifest.json'), JSON.stringify({ label: 'Box two, relabelled' }));
    await convert();
    const stream = await harvest(base);
    assert.deepEqual(summary(stream.activities.slice(OBJECTS.length + 1)), [`Update Manifest ${manifestUrl('Fonds-A/Box-2')}`]);
  });

  it('records an Update of a collection when its description changes', async () => {
    await writeFile(path.join(masters, 'Fonds A/collection.yml'), 'label: The first fonds\n');
    await convert();
    let stream = await harvest(base);
    assert.deepEqual(summary(stream.activities.slice(-1)), [`Update Collection ${base}/iiif/collection/Fonds-A`]);
    const total = stream.total;
    await convert();
    stream = await harvest(base);
    assert.equal(stream.total, total, 'an unchanged description adds nothing');
  });

  it('withdraws an object whose folder is gone: Delete, manifest 410 on 3.0 and 2.1, out of its collection, its images 404', async () => {
    const image = await firstImage('odd');
    const derivative = new Catalog(path.join(out, 'catalog.sqlite'), { readonly: true });
    const files = derivative.pages('odd').map((p) => p.derivativePath);
    const identifiers = derivative.pages('odd').map((p) => p.identifier);
    derivative.close();
    const away = path.join(dir, 'odd-away');
    await rename(path.join(masters, 'odd'), away);
    const report = await convert();
    assert.deepEqual(report.withdrawn, ['odd']);
    const stream = await harvest(base);
    assert.deepEqual(summary(stream.activities.slice(-1)), [`Delete Manifest ${manifestUrl('odd')}`]);

    for (const url of [manifestUrl('odd'), `${base}/iiif/presentation/2/manifest/odd`, `${base}/iiif/presentation/3/manifest/odd`]) {
      const response = await fetch(url);
      assert.equal(response.status, 410, url);
      assert.match(await response.text(), /object 'odd' was withdrawn/);
    }
    assert.equal((await fetch(manifestUrl('never-was'))).status, 404, 'an unknown object is still Not Found');
    const { body: top } = await getJson(`${base}/iiif/collection/top`);
    assert.ok(!(top.items as Json[]).some((i) => i.id === manifestUrl('odd')), 'gone from the top collection');
    // Derivatives kept on disk by default, but not served.
    assert.ok(files.length > 0 && files.every((f) => existsSync(f)));
    assert.equal((await fetch(image)).status, 404);

    // The folder comes back: a new Create, with the identifiers it had.
    await rename(away, path.join(masters, 'odd'));
    await convert();
    const back = await harvest(base);
    assert.deepEqual(summary(back.activities.slice(-1)), [`Create Manifest ${manifestUrl('odd')}`]);
    assert.equal((await fetch(manifestUrl('odd'))).status, 200);
    const catalog = new Catalog(path.join(out, 'catalog.sqlite'), { readonly: true });
    assert.deepEqual(catalog.pages('odd').map((p) => p.identifier), identifiers);
    catalog.close();
    assert.equal((await fetch(image)).status, 200);
  });

  it('withdrawObject removes the derivatives on request, keeps the identifiers, and records one Delete', async () => {
    const catalog = new Catalog(path.join(out, 'catalog.sqlite'));
    try {
      const pages = catalog.pages('Fonds-A/Box-2');
      const before = catalog.activityCount();
      const result = await catalog.withdrawObject('Fonds-A/Box-2', { removeDerivatives: true });
      assert.deepEqual(result, { withdrawn: true, pages: pages.length, removedFiles: pages.map((p) => p.derivativePath) });
      assert.ok(pages.every((p) => !existsSync(p.derivativePath)));
      assert.deepEqual(await catalog.withdrawObject('Fonds-A/Box-2'), { withdrawn: false, pages: 0, removedFiles: [] }, 'twice is a no-op');
      assert.equal(catalog.activityCount(), before + 1);
      assert.equal(catalog.activities(before, 1)[0]?.type, 'Delete');
      for (const p of pages) assert.equal(catalog.givenIdentifier(p.sourcePath.slice(masters.length + 1), p.sourcePage)?.identifier, p.identifier);
    } finally {
      catalog.close();
    }
    assert.equal((await fetch(manifestUrl('Fonds-A/Box-2'))).status, 410);
    // Its folder is still there: the next run publishes it again.
    await convert();
    assert.equal((await fetch(manifestUrl('Fonds-A/Box-2'))).status, 200);
  });

  it('withdraws nothing with missing: keep, in a dry run (only says so), or when the masters folder moved', async () => {
    const total = (await harvest(base)).total;
    await rm(path.join(masters, 'plain'), { recursive: true });
    const dry = await convert({ dryRun: true });
    assert.deepEqual(dry.withdrawn, ['plain'], 'a dry run says what it would withdraw');
    const kept = await convert({ missing: 'keep' });
    assert.deepEqual(kept.withdrawn, []);
    assert.equal((await fetch(manifestUrl('plain'))).status, 200);
    assert.equal((await harvest(base)).total, total);
    // Another masters root (this one, moved): 'plain' is missing there too, but its masters were never under it.
    const moved = path.join(dir, 'masters-moved');
    await rename(masters, moved);
    const report = await runConversion({ masters: moved, out, workers: 2, settings: SETTINGS, dryRun: false });
    assert.deepEqual(report.withdrawn, []);
    assert.equal(report.totals.failed, 0);
    assert.equal((await harvest(base)).total, total, 'same objects, same pages, same pixels: no activity');
    assert.equal((await fetch(manifestUrl('plain'))).status, 200);
  });

  it('serves a catalog written before the change log (read-only): a Create per object, and a writer records the same', async () => {
    const old = path.join(dir, 'old');
    const images = path.join(old, 'images');
    await mkdir(old, { recursive: true });
    await cp(path.join(out, 'images'), images, { recursive: true });
    await copyFile(path.join(out, 'catalog.sqlite'), path.join(old, 'catalog.sqlite'));
    const db = new Database(path.join(old, 'catalog.sqlite'));
    db.exec('DROP TABLE activities');
    const objects = (db.prepare('SELECT id FROM objects WHERE page_count > 0 ORDER BY updated_at, id').all() as { id: string }[]).map((r) => r.id);
    db.close();
    const oldServer = await startServer(undefined, { data: old, activityPageSize: PAGE_SIZE });
    try {
      const stream = await harvest(oldServer.url);
      assert.deepEqual(summary(stream.activities), objects.map((id) => `Create Manifest ${oldServer.url}/iiif/manifest/${encodePath(id)}`));
      assert.equal((await fetch(`${oldServer.url}/iiif/manifest/${encodePath(objects[0]!)}`)).status, 200);
      // A writer opening it creates the table with the same Creates, so harvesters see no change.
      new Catalog(path.join(old, 'catalog.sqlite')).close();
      const written = await harvest(oldServer.url);
      assert.deepEqual(summary(written.activities), summary(stream.activities));
    } finally {
      await oldServer.close();
    }
  });
});
