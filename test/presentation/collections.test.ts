import assert from 'node:assert/strict';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { upgrade } from '@iiif/parser/upgrader';
import type { ConversionReport } from '../../src/pipeline/run.js';
import { vitrine } from '../helpers/cli.js';
import { pagePicture } from '../helpers/corpus.js';
import { decode } from '../helpers/pixels.js';
import { assertValid3, getJson, type Json } from '../helpers/presentation.js';
import { startServer, tempDir, type RunningServer } from '../helpers/server.js';
import { writeMasters } from './corpus.js';
import { writeCollections } from './collection-corpus.js';

const P2 = 'http://iiif.io/api/presentation/2/context.json';

const TOP_LABEL = { en: ['Example Archive'], fr: ["Archives d'exemple"] };
const FONDS_LABEL = { en: ['Fonds A — the Doe papers'], fr: ['Fonds A — papiers Doe'] };

describe('collections described by collection.yml (Presentation 3.0 and 2.1, static export)', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let masters: string;
  let out: string;
  let report: ConversionReport;
  let server: RunningServer;
  let base: string;
  const collection3 = (p: string): string => `${base}/iiif/collection/${p}`;
  const collection2 = (p: string): string => `${base}/iiif/presentation/2/collection/${p}`;
  const service = (identifier: string, version = 3): string => `${base}/iiif/${version}/${encodeURIComponent(identifier)}`;

  const convert = async (): Promise<ConversionReport> => {
    const result = await vitrine('convert', masters, '--out', out, '--json', '--workers', '2');
    assert.equal(result.code, 0, result.stderr);
    return JSON.parse(result.stdout) as ConversionReport;
  };

  before(async () => {
    ({ dir, cleanup } = await tempDir('vitrine-collections-'));
    masters = path.join(dir, 'masters');
    out = path.join(dir, 'out');
    await writeMasters(masters);
    await writeCollections(masters);
    report = await convert();
    server = await startServer(undefined, { data: out });
    base = server.url;
  });
  after(async () => {
    await server?.close();
    await cleanup();
  });

  it('convert reads every collection.yml, and reports what it cannot apply by file and field', () => {
    assert.equal(report.totals.failed, 0);
    const described = report.ignored.filter((i) => i.reason === 'collection description').map((i) => i.relativePath);
    assert.deepEqual(described.sort(), ['Fonds A/Box 1/collection.json', 'Fonds A/collection.yml', 'Fonds B/collection.yml', 'collection.yml', 'plain/collection.yml']);
    const details = report.anomalies.filter((a) => a.kind === 'metadata' && !a.detail.startsWith('odd/')).map((a) => a.detail);
    assert.deepEqual(details.sort(), [
      "Fonds A/Box 1/collection.json: rights: 'https://example.org/our-own-rights' is not a Creative Commons or RightsStatements.org URI; put other rights statements in requiredStatement",
      'Fonds B/collection.yml: pages: not a field of a collection (it takes language, label, summary, metadata, rights, requiredStatement, provider, homepage, seeAlso, navDate, thumbnail); not applied',
      'plain/collection.yml: plain is not a collection (a collection is a folder of objects; describe a single object in manifest.yml)',
    ]);
  });

  it('the top collection takes its label and summary from the masters root collection.yml', async () => {
    const { body: top } = await getJson(collection3('top'));
    assertValid3(top, 'top');
    assert.deepEqual(top.label, TOP_LABEL);
    assert.deepEqual(top.summary, { none: ['Letters and ledgers of the Doe family.'] });
    assert.equal(top.thumbnail, undefined, 'no picture chosen');
    const fonds = (top.items as Json[]).find((i) => i.id === collection3('Fonds-A'))!;
    assert.deepEqual(fonds.label, FONDS_LABEL, 'members carry the described label');
    const fondsB = (top.items as Json[]).find((i) => i.id === collection3('Fonds-B'))!;
    assert.deepEqual(fondsB.label, { none: ['Fonds B'] }, 'a rejected collection.yml leaves the folder name');
  });

  it('a folder collection (3.0) has every field of its collection.yml, and the picture it chose', async () => {
    const { body: fonds } = await getJson(collection3('Fonds-A'));
    assertValid3(fonds, 'Fonds-A');
    assert.deepEqual(fonds.label, FONDS_LABEL);
    assert.deepEqual(fonds.summary, { en: ['Correspondence and accounts, 1850–1860.'] });
    assert.deepEqual(fonds.metadata, [
      { label: { en: ['Extent'] }, value: { en: ['3 boxes'] } },
      { label: { en: ['Dates'] }, value: { en: ['1850–1860'] } },
    ]);
    assert.equal(fonds.rights, 'http://creativecommons.org/publicdomain/mark/1.0/');
    assert.deepEqual(fonds.requiredStatement, { label: { en: ['Attribution'] }, value: { en: ['Example Archive, fonds A'] } });
    assert.deepEqual(fonds.provider, [
      {
        id: 'https://archive.example.org/',
        type: 'Agent',
        label: { en: ['Example Archive'] },
        homepage: [{ id: 'https://archive.example.org/', type: 'Text', format: 'text/html', label: { en: ['Example Archive'] } }],
      },
    ]);
    assert.deepEqual(fonds.homepage, [{ id: 'https://archive.example.org/fonds-a', type: 'Text', format: 'text/html', label: FONDS_LABEL }]);
    assert.equal(fonds.navDate, '1850-01-01T00:00:00Z');
    // p-002.tif of Folder 2 is 300×420: its thumbnail fits 200×200.
    const page = 'Fonds-A/Box-1/Folder-2/p-002';
    assert.deepEqual(fonds.thumbnail, [
      {
        id: `${service(page)}/full/143,200/0/default.jpg`,
        type: 'Image',
        format: 'image/jpeg',
        width: 143,
        height: 200,
        service: [{ id: service(page), type: 'ImageService3', profile: 'level2' }],
      },
    ]);
    assert.deepEqual(fonds.partOf, [{ id: collection3('top'), type: 'Collection', label: TOP_LABEL }]);
    const picture = await fetch((fonds.thumbnail as Json[])[0]!.id as string);
    assert.equal(picture.status, 200);
    const decoded = await decode(Buffer.from(await picture.arrayBuffer()), 3);
    assert.deepEqual([decoded.width, decoded.height], [143, 200]);

    const { body: box } = await getJson(collection3('Fonds-A/Box-1'));
    assertValid3(box, 'Box 1');
    assert.deepEqual(box.label, { none: ['Box one'] });
    assert.equal(box.rights, undefined, 'the bad field is left out, the rest applies');
    assert.equal(box.thumbnail[0].id, `${service('Fonds-A/Box-1/Folder-3/scan_01')}/full/200,200/0/default.jpg`, 'a folder name alone: the first page');
    assert.deepEqual(box.partOf, [{ id: collection3('Fonds-A'), type: 'Collection', label: FONDS_LABEL }]);
  });

  it('manifests name their collection by its described label', async () => {
    const { body: m } = await getJson(`${base}/iiif/manifest/Fonds-A/Box-2`);
    assert.deepEqual(m.partOf, [{ id: collection3('Fonds-A'), type: 'Collection', label: FONDS_LABEL }]);
    const { body: folder } = await getJson(`${base}/iiif/manifest/Fonds-A/Box-1/Folder-2`);
    assert.deepEqual(folder.partOf[0].label, { none: ['Box one'] });
  });

  it('a folder collection (2.1) has the same description in 2.1 terms, and upgrades to 3.0 with it', async () => {
    const { body: fonds } = await getJson(collection2('Fonds-A'));
    assert.equal(fonds['@context'], P2);
    assert.deepEqual(fonds.label, [
      { '@value': 'Fonds A — the Doe papers', '@language': 'en' },
      { '@value': 'Fonds A — papiers Doe', '@language': 'fr' },
    ]);
    assert.deepEqual(fonds.description, [{ '@value': 'Correspondence and accounts, 1850–1860.', '@language': 'en' }]);
    assert.deepEqual(fonds.metadata, [
      { label: [{ '@value': 'Extent', '@language': 'en' }], value: [{ '@value': '3 boxes', '@language': 'en' }] },
      { label: [{ '@value': 'Dates', '@language': 'en' }], value: [{ '@value': '1850–1860', '@language': 'en' }] },
    ]);
    assert.deepEqual(fonds.attribution, [{ '@value': 'Example Archive, fonds A', '@language': 'en' }]);
    assert.equal(fonds.license, 'http://creativecommons.org/publicdomain/mark/1.0/');
    assert.equal(fonds.related[0]['@id'], 'https://archive.example.org/fonds-a');
    assert.equal(fonds.navDate, '1850-01-01T00:00:00Z');
    assert.equal(fonds.thumbnail['@id'], `${service('Fonds-A/Box-1/Folder-2/p-002', 2)}/full/143,200/0/default.jpg`);
    assert.equal(fonds.thumbnail.service['@id'], service('Fonds-A/Box-1/Folder-2/p-002', 2));
    assert.equal(fonds.within, collection2('top'));

    // The upgrader rewrites its input in place: give it a copy.
    const upgraded = upgrade(structuredClone(fonds)) as unknown as Json;
    assert.equal(upgraded.type, 'Collection');
    assert.deepEqual(upgraded.label, FONDS_LABEL);
    assert.deepEqual(upgraded.summary, { en: ['Correspondence and accounts, 1850–1860.'] });
    assert.equal(upgraded.thumbnail[0].id, fonds.thumbnail['@id']);

    const { body: top } = await getJson(collection2('top'));
    assert.deepEqual(top.label, [
      { '@value': 'Example Archive', '@language': 'en' },
      { '@value': "Archives d'exemple", '@language': 'fr' },
    ]);
    assert.equal(top.description, 'Letters and ledgers of the Doe family.');
    assert.equal(top.viewingHint, 'top');
  });

  it('serve --collection-label (collectionLabel) labels the top collection over the root collection.yml', async () => {
    const configured = await startServer(undefined, { data: out, collectionLabel: 'Configured name' });
    try {
      const { body: top } = await getJson(`${configured.url}/iiif/collection/top`);
      assert.deepEqual(top.label, { none: ['Configured name'] });
      assert.deepEqual(top.summary, { none: ['Letters and ledgers of the Doe family.'] }, 'the rest of the description stays');
      const { body: plain } = await getJson(`${configured.url}/iiif/manifest/plain`);
      assert.deepEqual(plain.partOf[0].label, { none: ['Configured name'] });
      const { body: top2 } = await getJson(`${configured.url}/iiif/presentation/2/collection/top`);
      assert.equal(top2.label, 'Configured name');
    } finally {
      await configured.close();
    }
  });

  it('vitrine manifests writes the described collections, the top one labelled by --collection-label', async () => {
    const site = path.join(dir, 'site');
    const result = await vitrine('manifests', '--data', out, '--base-url', 'https://example.org/iiif', '--out', site, '--v2', '--collection-label', 'Published archive');
    assert.equal(result.code, 0, result.stderr);
    const read = async (file: string): Promise<Json> => JSON.parse(await readFile(path.join(site, file), 'utf8')) as Json;
    const fonds = await read('collection/Fonds-A.json');
    assertValid3(fonds, 'exported Fonds-A');
    assert.deepEqual(fonds.label, FONDS_LABEL);
    assert.equal(fonds.thumbnail[0].id, `https://example.org/iiif/iiif/3/${encodeURIComponent('Fonds-A/Box-1/Folder-2/p-002')}/full/143,200/0/default.jpg`);
    assert.deepEqual(fonds.partOf, [{ id: 'https://example.org/iiif/collection/top.json', type: 'Collection', label: { none: ['Published archive'] } }]);
    const top = await read('collection/top.json');
    assert.deepEqual(top.label, { none: ['Published archive'] });
    assert.deepEqual(top.summary, { none: ['Letters and ledgers of the Doe family.'] });
    const fonds2 = await read('presentation/2/collection/Fonds-A.json');
    assert.deepEqual(fonds2.description, [{ '@value': 'Correspondence and accounts, 1850–1860.', '@language': 'en' }]);
    const manifest = await read('manifest/Fonds-A/Box-2.json');
    assert.deepEqual(manifest.partOf[0].label, FONDS_LABEL);

    // Without the flag, the root collection.yml labels it.
    const plainSite = path.join(dir, 'site-2');
    assert.equal((await vitrine('manifests', '--data', out, '--base-url', 'https://example.org/iiif', '--out', plainSite)).code, 0);
    assert.deepEqual((JSON.parse(await readFile(path.join(plainSite, 'collection/top.json'), 'utf8')) as Json).label, TOP_LABEL);
  });

  it('a re-run of vitrine convert after editing collection.yml updates the documents, without a restart', async () => {
    const before = await fetch(collection3('Fonds-A'));
    const etag = before.headers.get('etag')!;
    await before.arrayBuffer();
    await writeFile(path.join(masters, 'Fonds A', 'collection.yml'), 'label:\n  en: Fonds A, revised\n  de: Bestand A\nthumbnail: Box 2\n');
    await rm(path.join(masters, 'Fonds A', 'Box 1', 'collection.json'));
    // A new fonds (no description) with one object.
    await mkdir(path.join(masters, 'Fonds C', 'Box 1'), { recursive: true });
    await pagePicture(15).tiff().toFile(path.join(masters, 'Fonds C', 'Box 1', '001.tif'));
    assert.equal((await convert()).totals.converted, 1, 'only the new page is converted');
    const revised = { en: ['Fonds A, revised'], de: ['Bestand A'] };

    // Manifests first: the server has not rebuilt its collection tree yet.
    const { body: inBox2 } = await getJson(`${base}/iiif/manifest/Fonds-A/Box-2`);
    assert.deepEqual(inBox2.partOf[0].label, revised);
    const { body: inBox1 } = await getJson(`${base}/iiif/manifest/Fonds-A/Box-1/Folder-2`);
    assert.deepEqual(inBox1.partOf[0].label, { none: ['Box 1'] }, 'a removed collection.yml gives the folder its name back');
    const { body: inFondsC } = await getJson(`${base}/iiif/manifest/Fonds-C/Box-1`);
    assert.deepEqual(inFondsC.partOf, [{ id: collection3('Fonds-C'), type: 'Collection', label: { none: ['Fonds C'] } }], 'a new collection, named by its folder');

    const changed = await fetch(collection3('Fonds-A'), { headers: { 'If-None-Match': etag } });
    assert.equal(changed.status, 200);
    const fonds = (await changed.json()) as Json;
    assertValid3(fonds, 'revised Fonds-A');
    assert.deepEqual(fonds.label, revised);
    assert.equal(fonds.summary, undefined, 'what the file no longer says is gone');
    assert.equal(fonds.thumbnail[0].id, `${service('Fonds-A/Box-2/001')}/full/200,150/0/default.jpg`);
    const { body: box } = await getJson(collection3('Fonds-A/Box-1'));
    assert.deepEqual(box.label, { none: ['Box 1'] });
    assert.equal(box.thumbnail, undefined);
    const { body: fonds2 } = await getJson(collection2('Fonds-A'));
    assert.deepEqual(fonds2.label, [
      { '@value': 'Fonds A, revised', '@language': 'en' },
      { '@value': 'Bestand A', '@language': 'de' },
    ]);
  });
});
