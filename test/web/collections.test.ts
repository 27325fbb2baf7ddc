import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { serveCli, vitrine } from '../helpers/cli.js';
import { startServer, tempDir, type RunningServer } from '../helpers/server.js';
import { writeCollections } from '../presentation/collection-corpus.js';
import { writeMasters } from '../presentation/corpus.js';

/** Text of the first element matching `pattern`'s capture, with the entities the pages write decoded. */
const text = (html: string, pattern: RegExp): string | undefined =>
  pattern.exec(html)?.[1]?.replaceAll('&amp;', '&').replaceAll('&#39;', "'").replaceAll('&quot;', '"');

/** The cards of a listing: their label, and the picture's URL. */
function cards(html: string, kind: 'collection' | 'object'): { label: string; src: string | undefined }[] {
  return [...html.matchAll(new RegExp(`<li class="card ${kind}" data-label="([^"]*)">([\\s\\S]*?)</li>`, 'g'))].map((m) => ({
    label: m[1]!.replaceAll('&#39;', "'"),
    src: /<img class="thumb" src="([^"]+)"/.exec(m[2]!)?.[1]?.replaceAll('&amp;', '&'),
  }));
}

describe('the home page shows what collection.yml says', () => {
  let cleanup: () => Promise<void>;
  let masters: string;
  let out: string;
  let server: RunningServer;
  let base: string;
  const page = async (p: string): Promise<string> => {
    const response = await fetch(`${base}${p}`);
    assert.equal(response.status, 200, p);
    return response.text();
  };
  const convert = async (): Promise<void> => {
    const result = await vitrine('convert', masters, '--out', out, '--workers', '2');
    assert.equal(result.code, 0, result.stderr);
  };

  before(async () => {
    let dir: string;
    ({ dir, cleanup } = await tempDir('vitrine-web-collections-'));
    masters = path.join(dir, 'masters');
    out = path.join(dir, 'out');
    await writeMasters(masters);
    await writeCollections(masters);
    await convert();
    server = await startServer(undefined, { data: out });
    base = server.url;
  });
  after(async () => {
    await server?.close();
    await cleanup?.();
  });

  it('the top page is headed and summarised by the masters root collection.yml', async () => {
    const html = await page('/');
    assert.equal(text(html, /<h1>([^<]*)<\/h1>/), 'Example Archive');
    assert.equal(text(html, /<p class="collection-summary">([^<]*)<\/p>/), 'Letters and ledgers of the Doe family.');
    const fonds = cards(html, 'collection').find((c) => c.label === 'Fonds A — the Doe papers');
    assert.ok(fonds, JSON.stringify(cards(html, 'collection')));
    const chosen = `${base}/iiif/3/${encodeURIComponent('Fonds-A/Box-1/Folder-2/p-002')}/full/143,200/0/default.jpg`;
    assert.equal(fonds.src, chosen, 'the collection card shows the page its collection.yml chose');
    assert.equal((await fetch(chosen)).status, 200);
    assert.ok(cards(html, 'collection').some((c) => c.label === 'Fonds B'), 'a rejected collection.yml leaves the folder name');
  });

  it("a collection's page shows its label, summary, metadata, attribution and links", async () => {
    const html = await page('/browse/Fonds-A');
    assert.equal(text(html, /<h1>([^<]*)<\/h1>/), 'Fonds A — the Doe papers');
    assert.equal(text(html, /<p class="collection-summary">([^<]*)<\/p>/), 'Correspondence and accounts, 1850–1860.');
    const terms = [...html.matchAll(/<dt>([^<]*)<\/dt><dd>([^<]*)<\/dd>/g)].map((m) => [m[1], m[2]]);
    assert.deepEqual(terms, [
      ['Extent', '3 boxes'],
      ['Dates', '1850–1860'],
      ['Attribution', 'Example Archive, fonds A'],
    ]);
    const links = [...html.matchAll(/<ul class="collection-links">([\s\S]*?)<\/ul>/g)].flatMap((m) => [...m[1]!.matchAll(/<a href="([^"]*)">([^<]*)<\/a>/g)].map((a) => [a[1], a[2]]));
    assert.deepEqual(links, [
      ['https://archive.example.org/fonds-a', 'Website'],
      ['https://archive.example.org/', 'Example Archive'],
      ['http://creativecommons.org/publicdomain/mark/1.0/', 'Rights'],
    ]);
    assert.match(html, /<li><a href="[^"]*\/">Example Archive<\/a><\/li>/, 'the breadcrumb names the top collection by its label');
    const box = cards(html, 'collection').find((c) => c.label === 'Box one');
    assert.equal(box?.src, `${base}/iiif/3/${encodeURIComponent('Fonds-A/Box-1/Folder-3/scan_01')}/full/200,200/0/default.jpg`);
  });

  it('a collection without a description shows no description block', async () => {
    const html = await page('/browse/Fonds-B');
    assert.equal(text(html, /<h1>([^<]*)<\/h1>/), 'Fonds B');
    assert.doesNotMatch(html, /class="collection-description"/);
  });

  it('the collectionLabel setting heads the top page, the root collection.yml still summarises it', async () => {
    const configured = await startServer(undefined, { data: out, collectionLabel: 'Doe family papers' });
    try {
      const html = await (await fetch(`${configured.url}/`)).text();
      assert.equal(text(html, /<h1>([^<]*)<\/h1>/), 'Doe family papers');
      assert.equal(text(html, /<p class="collection-summary">([^<]*)<\/p>/), 'Letters and ledgers of the Doe family.');
    } finally {
      await configured.close();
    }
  });

  it('vitrine serve --collection-label wins over VITRINE_COLLECTION_LABEL, which wins over the root collection.yml', async () => {
    const h1 = async (url: string): Promise<string | undefined> => text(await (await fetch(`${url}/`)).text(), /<h1>([^<]*)<\/h1>/);
    const env = { VITRINE_COLLECTION_LABEL: 'From the environment' };
    for (const [args, expected] of [
      [['--collection-label', 'From the flag'], 'From the flag'],
      [[], 'From the environment'],
    ] as const) {
      const served = await serveCli(['--port', '0', '--log-level', 'info', '--data', out, ...args], env);
      try {
        assert.equal(await h1(served.url), expected);
        const top = (await (await fetch(`${served.url}/iiif/collection/top`)).json()) as { label: unknown };
        assert.deepEqual(top.label, { none: [expected] });
      } finally {
        await served.stop();
      }
    }
  });

  it('shows an edited collection.yml after vitrine convert runs again, without a restart', async () => {
    await writeFile(path.join(masters, 'Fonds A', 'collection.yml'), 'label: Fonds A (revised)\nsummary: Now with a new summary.\nthumbnail: Box 2\n');
    await writeFile(path.join(masters, 'collection.yml'), 'label: { en: The Doe archive }\n');
    await convert();
    const top = await page('/');
    assert.equal(text(top, /<h1>([^<]*)<\/h1>/), 'The Doe archive');
    assert.doesNotMatch(top, /class="collection-description"/, 'the summary the file no longer has is gone');
    const fonds = cards(top, 'collection').find((c) => c.label === 'Fonds A (revised)');
    assert.equal(fonds?.src, `${base}/iiif/3/${encodeURIComponent('Fonds-A/Box-2/001')}/full/200,150/0/default.jpg`);
    const html = await page('/browse/Fonds-A');
    assert.equal(text(html, /<h1>([^<]*)<\/h1>/), 'Fonds A (revised)');
    assert.equal(text(html, /<p class="collection-summary">([^<]*)<\/p>/), 'Now with a new summary.');
    assert.doesNotMatch(html, /<dl class="collection-metadata">/);
  });
});
