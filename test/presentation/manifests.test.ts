import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import type { ConversionReport } from '../../src/pipeline/run.js';
import { expectedPage, pagePicture } from '../helpers/corpus.js';
import { assertSimilar, decode } from '../helpers/pixels.js';
import { assertValid2, assertValid3, crawl, getJson, mediaType, problems2, type Json } from '../helpers/presentation.js';
import { startServer, tempDir, type RunningServer } from '../helpers/server.js';
import { BATCH_CSV, BOX_2_SIDECAR, OBJECTS, writeMasters } from './corpus.js';
import { vitrine } from '../helpers/cli.js';

const P2 = 'http://iiif.io/api/presentation/2/context.json';
const P3 = 'http://iiif.io/api/presentation/3/context.json';
const ACCEPT_2 = `application/ld+json;profile="${P2}"`;

/** A GET over plain node:http, so the body arrives as sent (fetch would decompress it). */
function rawGet(url: string, headers: Record<string, string>): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

const sortedIds = (ids: Iterable<string>): string[] => [...ids].sort();

describe('manifests and collections from a converted archive (Presentation 3.0 and 2.1)', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let masters: string;
  let out: string;
  let csv: string;
  let report: ConversionReport;
  let convertResult: { code: number; stderr: string };
  let server: RunningServer;
  let base: string;
  const manifestUrl = (id: string): string => `${base}/iiif/manifest/${id}`;

  before(async () => {
    ({ dir, cleanup } = await tempDir('vitrine-presentation-'));
    masters = path.join(dir, 'masters');
    out = path.join(dir, 'out');
    csv = path.join(dir, 'batch.csv');
    await writeMasters(masters);
    await writeFile(csv, BATCH_CSV);
    const result = await vitrine('convert', masters, '--out', out, '--metadata', csv, '--json', '--workers', '2');
    convertResult = result;
    report = JSON.parse(result.stdout) as ConversionReport;
    server = await startServer(undefined, { data: out });
    base = server.url;
  });
  after(async () => {
    await server?.close();
    await cleanup();
  });

  it('convert --metadata reads the CSV and the sidecars, and reports what it could not apply', () => {
    assert.equal(convertResult.code, 0, convertResult.stderr);
    assert.equal(report.totals.converted, OBJECTS.reduce((n, o) => n + o.pages.length, 0));
    const metadata = report.anomalies.filter((a) => a.kind === 'metadata');
    const about = (object: string, pattern: RegExp) => metadata.some((a) => a.object === object && pattern.test(a.detail));
    assert.ok(about('odd', /odd\/manifest\.yml: rights: 'https:\/\/example\.org\/our-rights' is not a Creative Commons/), JSON.stringify(metadata));
    assert.ok(about('odd', /structure\.0\.pages: no page 9 \(the object has 1\)/), JSON.stringify(metadata));
    assert.ok(about('nowhere', /batch\.csv row 5: names no object/), JSON.stringify(metadata));
    assert.equal(metadata.length, 3, JSON.stringify(metadata));
    assert.ok(!report.ignored.some((i) => i.reason !== 'metadata sidecar'), 'sidecars are the only files not converted');
  });

  it('reaches every object from /iiif/collection/top, and every collection and manifest is valid Presentation 3.0', async () => {
    const { collections, manifests } = await crawl(`${base}/iiif/collection/top`);
    for (const [url, collection] of collections) {
      assertValid3(collection, url);
      assert.equal(collection['@context'], P3);
    }
    assert.deepEqual(sortedIds(manifests), sortedIds(OBJECTS.map((o) => manifestUrl(o.id))));
    assert.equal(new Set(manifests).size, manifests.length, 'each manifest listed once');
    for (const url of manifests) {
      const { body } = await getJson(url);
      assertValid3(body, url);
      assert.equal(body.id, url, 'a manifest is served at its id');
    }
    // The folder hierarchy, with the folders' own names as labels.
    const top = collections.get(`${base}/iiif/collection/top`)!;
    assert.deepEqual(
      (top.items as Json[]).map((i) => [i.type, i.id]),
      [['Collection', `${base}/iiif/collection/Fonds-A`], ['Manifest', manifestUrl('odd')], ['Manifest', manifestUrl('plain')]],
    );
    const fonds = collections.get(`${base}/iiif/collection/Fonds-A`)!;
    assert.deepEqual(fonds.label, { none: ['Fonds A'] });
    assert.deepEqual(fonds.partOf, [{ id: `${base}/iiif/collection/top`, type: 'Collection', label: top.label }]);
    assert.deepEqual(
      (fonds.items as Json[]).map((i) => [i.type, i.id]),
      [['Collection', `${base}/iiif/collection/Fonds-A/Box-1`], ['Manifest', manifestUrl('Fonds-A/Box-2')]],
    );
    // Box 1 has masters of its own and sub-folders: its collection lists its own manifest first.
    const box1 = collections.get(`${base}/iiif/collection/Fonds-A/Box-1`)!;
    assert.deepEqual(
      (box1.items as Json[]).map((i) => [i.type, i.id, i.label]),
      [
        ['Manifest', manifestUrl('Fonds-A/Box-1'), { none: ['Box 1'] }],
        ['Manifest', manifestUrl('Fonds-A/Box-1/Folder-2'), { en: ['Letters of Jane Doe'], fr: ['Lettres de Jane Doe'] }],
        ['Manifest', manifestUrl('Fonds-A/Box-1/Folder-3'), { en: ['Ledger'], fr: ['Registre'] }],
      ],
    );
  });

  it('builds one canvas per page in reading order, sized as the image service says, painted by an ImageService3', async () => {
    for (const object of OBJECTS) {
      const { body: manifest } = await getJson(manifestUrl(object.id));
      const canvases = manifest.items as Json[];
      assert.equal(canvases.length, object.pages.length, object.id);
      for (const [i, canvas] of canvases.entries()) {
        const page = object.pages[i]!;
        const what = `${object.id} canvas ${i + 1}`;
        const annotation = canvas.items[0].items[0] as Json;
        assert.equal(annotation.motivation, 'painting');
        assert.equal(annotation.target, canvas.id);
        const body = annotation.body as Json;
        assert.equal(body.type, 'Image');
        assert.equal(body.format, 'image/jpeg');
        const service = body.service[0] as Json;
        assert.equal(service.type, 'ImageService3');
        assert.equal(service.profile, 'level2');
        const { body: info } = await getJson(`${service.id}/info.json`);
        assert.equal(info.id, service.id, `${what}: the service id is the image server's own`);
        assert.deepEqual([canvas.width, canvas.height], [info.width, info.height], `${what}: canvas size = image size`);
        assert.deepEqual([canvas.width, canvas.height], [page.width, page.height], `${what}: the master's size`);
        assert.deepEqual([body.width, body.height], [page.width, page.height]);
        assert.equal(body.id, `${service.id}/full/max/0/default.jpg`);
        // The thumbnail exists at the size it declares.
        const thumb = canvas.thumbnail[0] as Json;
        const thumbPixels = await decode(Buffer.from(await (await fetch(thumb.id as string)).arrayBuffer()));
        assert.deepEqual([thumbPixels.width, thumbPixels.height], [thumb.width, thumb.height], `${what} thumbnail`);
        assert.ok(Math.max(thumb.width as number, thumb.height as number) <= 200);
      }
      assert.deepEqual(manifest.thumbnail[0], canvases[0]!.thumbnail[0], 'the manifest thumbnail is the first page');
    }
  });

  it("each canvas shows its own master's pixels, through the image server", async () => {
    for (const object of OBJECTS) {
      const { body: manifest } = await getJson(manifestUrl(object.id));
      for (const [i, canvas] of (manifest.items as Json[]).entries()) {
        const page = object.pages[i]!;
        const response = await fetch(canvas.items[0].items[0].body.id as string);
        assert.equal(response.status, 200);
        assert.equal(response.headers.get('content-type'), 'image/jpeg');
        const got = await decode(Buffer.from(await response.arrayBuffer()), 3);
        const want = { width: page.width, height: page.height, channels: 3, data: await expectedPage(page.picture, page.width, page.height) };
        assertSimilar(got, want, 6, `${object.id} page ${i + 1} (${page.file})`);
      }
    }
  });

  it('carries the descriptive metadata of the sidecar', async () => {
    const { body: m } = await getJson(manifestUrl('Fonds-A/Box-1/Folder-2'));
    assert.deepEqual(m.label, { en: ['Letters of Jane Doe'], fr: ['Lettres de Jane Doe'] });
    assert.deepEqual(m.summary, { en: ['Three letters written from Lyon, 1852.'] });
    assert.deepEqual(m.metadata, [
      { label: { en: ['Date'] }, value: { en: ['1852'] } },
      { label: { en: ['Place'], fr: ['Lieu'] }, value: { en: ['Lyons'], fr: ['Lyon'] } },
    ]);
    assert.equal(m.rights, 'http://creativecommons.org/licenses/by/4.0/', 'https given, http as the API requires');
    assert.deepEqual(m.requiredStatement, { label: { en: ['Attribution'] }, value: { en: ['Example Archive, fonds A'] } });
    assert.deepEqual(m.provider, [
      {
        id: 'https://archive.example.org/',
        type: 'Agent',
        label: { en: ['Example Archive'] },
        homepage: [{ id: 'https://archive.example.org/', type: 'Text', format: 'text/html', label: { en: ['Example Archive'] } }],
        logo: [{ id: 'https://archive.example.org/logo.png', type: 'Image', format: 'image/png' }],
      },
    ]);
    assert.deepEqual(m.homepage, [{ id: 'https://archive.example.org/fonds-a/letters', type: 'Text', format: 'text/html', label: m.label }]);
    assert.deepEqual(m.seeAlso, [{ id: 'https://archive.example.org/fonds-a/letters.xml', type: 'Dataset', format: 'text/xml', profile: 'https://www.loc.gov/ead/' }]);
    assert.equal(m.navDate, '1852-03-01T00:00:00Z');
    assert.deepEqual(m.behavior, ['paged']);
    assert.equal(m.viewingDirection, 'left-to-right');
    assert.deepEqual(
      (m.items as Json[]).map((c) => c.label),
      [{ en: ['Letter 1, first leaf'] }, { en: ['Letter 1, second leaf'] }, { en: ['Letter 2'] }],
    );
    assert.deepEqual(m.partOf, [{ id: `${base}/iiif/collection/Fonds-A/Box-1`, type: 'Collection', label: { none: ['Box 1'] } }]);
  });

  it('takes metadata from the CSV (quoted cells, languages, lists, page labels, a row for all), the sidecar winning field by field', async () => {
    const { body: ledger } = await getJson(manifestUrl('Fonds-A/Box-1/Folder-3'));
    assert.deepEqual(ledger.label, { en: ['Ledger'], fr: ['Registre'] });
    assert.deepEqual(ledger.summary, { none: ['Accounts; two leaves, "bound"\nwith string'] });
    assert.deepEqual(ledger.metadata, [
      { label: { none: ['Creator'] }, value: { none: ['Jane Doe'] } },
      { label: { none: ['Subject'] }, value: { none: ['Accounts', 'Trade'] } },
    ]);
    assert.deepEqual((ledger.items as Json[]).map((c) => c.label), [{ none: ['Recto'] }, { none: ['Verso'] }]);
    assert.equal(ledger.rights, 'http://rightsstatements.org/vocab/InC/1.0/', 'from the * row');

    const { body: box2 } = await getJson(manifestUrl('Fonds-A/Box-2'));
    assert.deepEqual(box2.label, { none: [BOX_2_SIDECAR.label] }, 'the sidecar wins over the CSV');
    assert.equal(box2.viewingDirection, 'right-to-left');
    assert.deepEqual(box2.metadata, [{ label: { none: ['Creator'] }, value: { none: ['John Roe'] } }], 'what the sidecar does not give comes from the CSV');

    // A sidecar field that was refused leaves the CSV's value; the rest of the sidecar applies.
    const { body: odd } = await getJson(manifestUrl('odd'));
    assert.deepEqual(odd.label, { none: ['Odd one'] });
    assert.equal(odd.rights, 'http://rightsstatements.org/vocab/InC/1.0/');
  });

  it('defaults to the folder name and page numbers when nothing describes an object', async () => {
    const { body: plain } = await getJson(manifestUrl('plain'));
    assert.deepEqual(plain.label, { none: ['plain'] });
    assert.deepEqual((plain.items as Json[]).map((c) => c.label), [{ none: ['1'] }, { none: ['2'] }]);
    for (const key of ['summary', 'metadata', 'requiredStatement', 'provider', 'homepage', 'behavior', 'structures']) {
      assert.equal(plain[key], undefined, key);
    }
    const { body: box1 } = await getJson(manifestUrl('Fonds-A/Box-1'));
    assert.deepEqual(box1.label, { none: ['Box 1'] }, "the folder's own name, not its id");
  });

  it('builds the table of contents from the sidecar structure, nested, leaving out pages that do not exist', async () => {
    const { body: m } = await getJson(manifestUrl('Fonds-A/Box-1/Folder-2'));
    const canvas = (n: number) => ({ id: (m.items as Json[])[n - 1]!.id as string, type: 'Canvas' });
    const ranges = m.structures as Json[];
    assert.deepEqual(
      ranges.map((r) => [r.type, r.label, r.items]),
      [
        ['Range', { en: ['Letter 1'] }, [canvas(1), canvas(2)]],
        ['Range', { en: ['Letter 2'] }, [canvas(3)]],
        ['Range', { en: ['Enclosures'] }, [{ id: ranges[2]!.items[0].id, type: 'Range', label: { en: ['Envelope'] }, items: [canvas(3)] }]],
      ],
    );
    assert.equal(new Set([...ranges.map((r) => r.id), ranges[2]!.items[0].id]).size, 4, 'range ids are distinct');
    const { body: odd } = await getJson(manifestUrl('odd'));
    assert.deepEqual(odd.structures[0].items, [{ id: odd.items[0].id, type: 'Canvas' }]);
  });

  it('serves Presentation 2.1 by content negotiation and at /iiif/presentation/2/, with Image API 2 services', async () => {
    const id = 'Fonds-A/Box-1/Folder-2';
    const { body: v3 } = await getJson(manifestUrl(id));
    const negotiated = await getJson(manifestUrl(id), { Accept: ACCEPT_2 });
    assert.deepEqual(mediaType(negotiated.headers), { type: 'application/ld+json', profile: P2 });
    const m = negotiated.body;
    assert.equal(m['@context'], P2);
    assert.equal(m['@type'], 'sc:Manifest');
    assert.equal(m['@id'], `${base}/iiif/presentation/2/manifest/${id}`);
    const explicit = await getJson(m['@id'] as string);
    assert.deepEqual(explicit.body, m, 'the 2.1 id serves the same document');
    assert.equal(mediaType(explicit.headers).type, 'application/json', '2.1 is application/json unless JSON-LD is asked for');

    assert.deepEqual(m.label, [
      { '@value': 'Letters of Jane Doe', '@language': 'en' },
      { '@value': 'Lettres de Jane Doe', '@language': 'fr' },
    ]);
    assert.deepEqual(m.description, [{ '@value': 'Three letters written from Lyon, 1852.', '@language': 'en' }]);
    assert.deepEqual(m.attribution, [{ '@value': 'Example Archive, fonds A', '@language': 'en' }]);
    assert.equal(m.license, 'http://creativecommons.org/licenses/by/4.0/');
    assert.equal(m.logo, 'https://archive.example.org/logo.png');
    assert.equal(m.viewingHint, 'paged');
    assert.equal(m.navDate, '1852-03-01T00:00:00Z');
    assert.equal(m.within, `${base}/iiif/presentation/2/collection/Fonds-A/Box-1`);

    const sequences = m.sequences as Json[];
    assert.equal(sequences.length, 1);
    assert.equal(sequences[0]!['@type'], 'sc:Sequence');
    const canvases = sequences[0]!.canvases as Json[];
    assert.deepEqual(
      canvases.map((c) => [c['@id'], c.width, c.height]),
      (v3.items as Json[]).map((c) => [c.id, c.width, c.height]),
      'the same canvases, in the same order, as 3.0',
    );
    assert.deepEqual(canvases[0]!.label, [{ '@value': 'Letter 1, first leaf', '@language': 'en' }]);
    assert.deepEqual(canvases[1]!.label, [{ '@value': 'Letter 1, second leaf', '@language': 'en' }]);
    for (const canvas of canvases) {
      assert.equal(canvas['@type'], 'sc:Canvas');
      const image = canvas.images[0] as Json;
      assert.equal(image['@type'], 'oa:Annotation');
      assert.equal(image.motivation, 'sc:painting');
      assert.equal(image.on, canvas['@id']);
      const service = image.resource.service as Json;
      assert.equal(service['@context'], 'http://iiif.io/api/image/2/context.json');
      assert.equal(service.profile, 'http://iiif.io/api/image/2/level2.json');
      assert.ok((service['@id'] as string).startsWith(`${base}/iiif/2/`));
      const { body: info } = await getJson(`${service['@id']}/info.json`);
      assert.equal(info['@id'], service['@id']);
      assert.deepEqual([info.width, info.height], [canvas.width, canvas.height]);
      const response = await fetch(image.resource['@id'] as string);
      assert.equal(response.status, 200, image.resource['@id'] as string);
      const pixels = await decode(Buffer.from(await response.arrayBuffer()));
      assert.deepEqual([pixels.width, pixels.height], [image.resource.width, image.resource.height]);
    }
    // Ranges: flat, nested by id.
    const structures = m.structures as Json[];
    assert.deepEqual(
      structures.map((r) => [r['@type'], r.label, r.canvases?.length ?? 0, r.ranges?.length ?? 0]),
      [
        ['sc:Range', [{ '@value': 'Letter 1', '@language': 'en' }], 2, 0],
        ['sc:Range', [{ '@value': 'Letter 2', '@language': 'en' }], 1, 0],
        ['sc:Range', [{ '@value': 'Enclosures', '@language': 'en' }], 0, 1],
        ['sc:Range', [{ '@value': 'Envelope', '@language': 'en' }], 1, 0],
      ],
    );
    assert.equal(structures[2]!.ranges[0], structures[3]!['@id']);
  });

  it('keeps the 2.1 and 3.0 manifests apart when both are asked as plain JSON, whichever comes first', async () => {
    // A fresh server per order: the serialised-document cache starts empty each time.
    for (const order of [[2, 3], [3, 2]] as const) {
      const fresh = await startServer(undefined, { data: out });
      try {
        for (const version of order) {
          const url = version === 2 ? `${fresh.url}/iiif/presentation/2/manifest/plain` : `${fresh.url}/iiif/manifest/plain`;
          for (let i = 0; i < 2; i++) {
            const { body, headers } = await getJson(url, { Accept: 'application/json' });
            assert.equal(mediaType(headers).type, 'application/json', url);
            assert.equal(body['@context'], version === 2 ? P2 : P3, `asked ${order.join(' then ')}: ${url}`);
          }
        }
      } finally {
        await fresh.close();
      }
    }
  });

  it('2.1 collections reach every 2.1 manifest', async () => {
    const { collections, manifests } = await crawl(`${base}/iiif/presentation/2/collection/top`, 2);
    for (const [url, c] of collections) {
      assert.equal(c['@context'], P2, url);
      assert.equal(c['@type'], 'sc:Collection', url);
    }
    assert.equal(collections.get(`${base}/iiif/presentation/2/collection/top`)!.viewingHint, 'top');
    assert.deepEqual(sortedIds(manifests), sortedIds(OBJECTS.map((o) => `${base}/iiif/presentation/2/manifest/${o.id}`)));
    for (const url of manifests) {
      const { body } = await getJson(url);
      assert.equal(body['@id'], url);
      assert.equal(body['@context'], P2);
    }
    // Content negotiation on the 3.0 collection path too.
    const { body } = await getJson(`${base}/iiif/collection/top`, { Accept: ACCEPT_2 });
    assert.equal(body['@context'], P2);
  });

  it('every 2.1 collection and manifest keeps the 2.1 rules and, upgraded by @iiif/parser, passes the 3.0 schema', async () => {
    const { collections, manifests } = await crawl(`${base}/iiif/presentation/2/collection/top`, 2);
    assert.equal(collections.size, 3, 'top, Fonds A, Box 1');
    assert.equal(manifests.length, OBJECTS.length, 'every object');
    for (const [url, collection] of collections) assertValid2(collection, url);
    for (const url of manifests) assertValid2((await getJson(url)).body, url);
  });

  it('the 2.1 check refuses what breaks 2.1, by its own rules or through the upgrade and the 3.0 schema', async () => {
    const { body: good } = await getJson(`${base}/iiif/presentation/2/manifest/Fonds-A/Box-1/Folder-2`);
    assertValid2(good, 'as served');
    const canvas0 = (m: Json): Json => m.sequences[0].canvases[0] as Json;
    const broken: Array<[string, (m: Json) => void]> = [
      ['a 3.0 context', (m) => (m['@context'] = P3)],
      ['a 3.0 type', (m) => (m['@type'] = 'Manifest')],
      ['a 3.0 language map as label', (m) => (m.label = { en: ['Letters'] })],
      ['no sequences', (m) => delete m.sequences],
      ['a canvas without height', (m) => delete canvas0(m).height],
      ['a canvas without label', (m) => delete canvas0(m).label],
      ['a 3.0 motivation', (m) => (canvas0(m).images[0].motivation = 'painting')],
      ['an image on another canvas', (m) => (canvas0(m).images[0].on = `${base}/elsewhere`)],
      ['an Image API 3 service', (m) => (canvas0(m).images[0].resource.service['@context'] = 'http://iiif.io/api/image/3/context.json')],
      ['a range naming a missing canvas', (m) => (m.structures[0].canvases = [`${base}/no-such-canvas`])],
      ['a viewingHint 2.1 does not have', (m) => (m.viewingHint = 'book')],
      ['a navDate that is no date', (m) => (m.navDate = 'March 1852')],
      ['a service without @id', (m) => delete canvas0(m).images[0].resource.service['@id']],
    ];
    for (const [what, breakIt] of broken) {
      const document = structuredClone(good);
      breakIt(document);
      assert.ok(problems2(document).length > 0, `${what}: found by the 2.1 rules`);
      assert.throws(() => assertValid2(document, what), assert.AssertionError, what);
    }
    // Faults the 2.1 rules do not look for, found once @iiif/parser has upgraded the document.
    const seenByTheUpgrade: Array<[string, (m: Json) => void]> = [
      ['an annotation list whose @id is no URI', (m) => (canvas0(m).otherContent = [{ '@id': 'not a uri', '@type': 'sc:AnnotationList' }])],
      ['an image whose width is text', (m) => (canvas0(m).images[0].resource.width = 'wide')],
      ['an image of negative height', (m) => (canvas0(m).images[0].resource.height = -1)],
      ['a canvas viewingHint that is no behavior', (m) => (canvas0(m).viewingHint = 'sideways')],
    ];
    for (const [what, breakIt] of seenByTheUpgrade) {
      const document = structuredClone(good);
      breakIt(document);
      assert.deepEqual(problems2(document), [], `${what}: not one of the 2.1 rules`);
      assert.throws(() => assertValid2(document, what), /upgraded to 3\.0 is not valid Presentation 3\.0/, what);
    }
    const { body: top } = await getJson(`${base}/iiif/presentation/2/collection/top`);
    const badMember = structuredClone(top);
    (badMember.manifests as Json[])[0]!['@type'] = 'sc:Collection';
    assert.throws(() => assertValid2(badMember, 'a manifest typed as a collection'), assert.AssertionError);
  });

  it('answers with JSON-LD media types, CORS, ETag and 304, compressed when asked', async () => {
    const url = manifestUrl('Fonds-A/Box-1/Folder-2');
    const plain = await fetch(url, { headers: { Origin: 'https://viewer.example.org' } });
    assert.equal(plain.status, 200);
    assert.deepEqual(mediaType(plain.headers), { type: 'application/ld+json', profile: P3 });
    assert.equal(plain.headers.get('access-control-allow-origin'), '*');
    assert.match(plain.headers.get('vary') ?? '', /Accept/);
    const etag = plain.headers.get('etag');
    assert.ok(etag, 'an ETag');
    await plain.arrayBuffer();

    assert.equal(mediaType((await fetch(url, { headers: { Accept: 'application/json' } })).headers).type, 'application/json');
    assert.deepEqual(mediaType((await fetch(url, { headers: { Accept: 'application/ld+json' } })).headers), { type: 'application/ld+json', profile: P3 });

    // The version asked with the highest q wins; on equal q the one the client lists first
    // (negotiator's rule, as in Express); a JSON-LD range without a profile gets 3.0.
    const version = async (accept: string) => mediaType((await fetch(url, { headers: { Accept: accept } })).headers).profile;
    assert.equal(await version(`${ACCEPT_2};q=0.5, application/ld+json;profile="${P3}"`), P3);
    assert.equal(await version(`application/ld+json;profile="${P3}";q=0.4, ${ACCEPT_2}`), P2);
    assert.equal(await version(`${ACCEPT_2}, application/ld+json;profile="${P3}"`), P2);
    assert.equal(await version(`application/ld+json;profile="${P3}", ${ACCEPT_2}`), P3);
    assert.equal(await version(`application/ld+json, ${ACCEPT_2};q=0.9`), P3);
    assert.equal(await version(`application/json;q=0.5, ${ACCEPT_2};q=0.6`), P2);

    const again = await fetch(url, { headers: { 'If-None-Match': etag! } });
    assert.equal(again.status, 304);
    assert.equal((await again.arrayBuffer()).byteLength, 0);
    const other = await fetch(url, { headers: { 'If-None-Match': etag!, Accept: ACCEPT_2 } });
    assert.equal(other.status, 200, 'the 2.1 variant has its own ETag');
    await other.arrayBuffer();

    const preflight = await fetch(url, {
      method: 'OPTIONS',
      headers: { Origin: 'https://viewer.example.org', 'Access-Control-Request-Method': 'GET', 'Access-Control-Request-Headers': 'accept' },
    });
    assert.ok(preflight.status === 204 || preflight.status === 200, `preflight ${preflight.status}`);
    assert.equal(preflight.headers.get('access-control-allow-origin'), '*');

    const identity = await rawGet(url, {});
    const gzip = await rawGet(url, { 'Accept-Encoding': 'gzip' });
    const br = await rawGet(url, { 'Accept-Encoding': 'br' });
    assert.equal(identity.headers['content-encoding'], undefined);
    assert.equal(gzip.headers['content-encoding'], 'gzip');
    assert.equal(br.headers['content-encoding'], 'br');
    assert.deepEqual(gunzipSync(gzip.body), identity.body);
    assert.deepEqual(brotliDecompressSync(br.body), identity.body);
    assert.ok(gzip.body.length < identity.body.length / 2, `gzip ${gzip.body.length} vs ${identity.body.length} bytes`);

    // Tiles are never compressed by the manifest service.
    const tile = await rawGet(`${base}/iiif/3/${encodeURIComponent('plain/page2')}/full/max/0/default.jpg`, { 'Accept-Encoding': 'gzip' });
    assert.equal(tile.status, 200);
    assert.equal(tile.headers['content-encoding'], undefined);
  });

  it('resolves object ids with encoded slashes too, and answers 404 with a reason for what does not exist', async () => {
    const { body } = await getJson(`${base}/iiif/manifest/${encodeURIComponent('Fonds-A/Box-1/Folder-2')}`);
    assert.equal(body.id, manifestUrl('Fonds-A/Box-1/Folder-2'));
    const { body: collection } = await getJson(`${base}/iiif/collection/${encodeURIComponent('Fonds-A/Box-1')}`);
    assert.equal(collection.id, `${base}/iiif/collection/Fonds-A/Box-1`);
    for (const [url, reason] of [
      [manifestUrl('Fonds-A/Box-9'), /no object 'Fonds-A\/Box-9'/],
      [`${base}/iiif/collection/Fonds-B`, /no collection 'Fonds-B'/],
      [`${base}/iiif/collection/plain`, /no collection 'plain'/],
      [`${base}/iiif/manifest/`, /no object id/],
    ] as const) {
      const response = await fetch(url);
      assert.equal(response.status, 404, url);
      assert.match(await response.text(), reason);
      assert.equal(response.headers.get('access-control-allow-origin'), '*');
    }
  });

  it('uses the configured public base URL in every id', async () => {
    const proxied = await startServer(undefined, { data: out, baseUrl: 'https://iiif.example.org/vitrine' });
    try {
      const { body } = await getJson(`${proxied.url}/iiif/manifest/plain`);
      const ids = JSON.stringify(body).match(/"(?:id|@id)":"[^"]+"/g) ?? [];
      assert.ok(ids.length > 10);
      for (const id of ids) assert.match(id, /"https:\/\/iiif\.example\.org\/vitrine\/iiif\//);
      assertValid3(body, 'manifest behind a proxy');
    } finally {
      await proxied.close();
    }
  });

  it('picks up a re-conversion without a restart: edited sidecar, added page, new object', async () => {
    const url = manifestUrl('Fonds-A/Box-2');
    const before = await fetch(url);
    const etag = before.headers.get('etag')!;
    assert.equal(((await before.json()) as Json).items.length, 2);

    await writeFile(path.join(masters, 'Fonds A/Box 2/manifest.json'), JSON.stringify({ ...BOX_2_SIDECAR, label: { en: 'Box two, revised' } }));
    await pagePicture(12).tiff({ compression: 'lzw' }).toFile(path.join(masters, 'Fonds A/Box 2/003.tif'));
    await mkdir(path.join(masters, 'late'));
    await pagePicture(13).tiff({ compression: 'lzw' }).toFile(path.join(masters, 'late/001.tif'));
    const second = await vitrine('convert', masters, '--out', out, '--metadata', csv, '--json');
    assert.equal(second.code, 0, second.stderr);
    const again = JSON.parse(second.stdout) as ConversionReport;
    assert.equal(again.totals.converted, 2, 'only the new pages are converted');

    const changed = await fetch(url, { headers: { 'If-None-Match': etag } });
    assert.equal(changed.status, 200, 'the old ETag no longer matches');
    const m = (await changed.json()) as Json;
    assertValid3(m, url);
    assert.deepEqual(m.label, { en: ['Box two, revised'] }, 'the edited sidecar, although no page of the object was converted again');
    assert.equal(m.items.length, 3);
    const third = m.items[2] as Json;
    const got = await decode(Buffer.from(await (await fetch(third.items[0].items[0].body.id as string)).arrayBuffer()), 3);
    assertSimilar(got, { width: 400, height: 300, channels: 3, data: await expectedPage(12) }, 6, 'the added page');

    const { manifests } = await crawl(`${base}/iiif/collection/top`);
    assert.ok(manifests.includes(manifestUrl('late')), 'the new object is in the collections');
    const { body: late } = await getJson(manifestUrl('late'));
    assertValid3(late, 'late');
    assert.deepEqual(late.label, { none: ['late'] });
  });
});

describe('the manifest service without a catalog, and convert --metadata errors', () => {
  it('answers 404 with a reason when serving a plain images folder', async () => {
    const { dir, cleanup } = await tempDir();
    const server = await startServer(dir);
    try {
      for (const url of [`${server.url}/iiif/manifest/x`, `${server.url}/iiif/collection/top`]) {
        const response = await fetch(url);
        assert.equal(response.status, 404);
        assert.match(await response.text(), /--data/);
      }
    } finally {
      await server.close();
      await cleanup();
    }
  });

  it('exits 2 before converting anything when the CSV cannot be used', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const masters = path.join(dir, 'masters');
      await mkdir(masters);
      await pagePicture(1).tiff().toFile(path.join(masters, '001.tif'));
      await writeFile(path.join(dir, 'nokey.csv'), 'title,summary\nA,B\n');
      await writeFile(path.join(dir, 'open.csv'), 'object,label\nmasters,"never closed\n');
      for (const [csv, reason] of [
        ['missing.csv', /missing\.csv: not found/],
        ['nokey.csv', /no 'object' column/],
        ['open.csv', /not closed/],
      ] as const) {
        const result = await vitrine('convert', masters, '--out', path.join(dir, 'out'), '--metadata', path.join(dir, csv));
        assert.equal(result.code, 2, `${csv}: ${result.stderr}`);
        assert.match(result.stderr, reason);
      }
      assert.equal((await import('node:fs')).existsSync(path.join(dir, 'out', 'images')), false, 'nothing converted');
    } finally {
      await cleanup();
    }
  });
});
