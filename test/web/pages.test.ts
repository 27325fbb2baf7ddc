import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { vitrine } from '../helpers/cli.js';
import { startServer, tempDir, type RunningServer } from '../helpers/server.js';
import { convertCorpus } from './corpus.js';

/** The page's HTML, with its status and headers. */
async function getPage(url: string): Promise<{ status: number; html: string; headers: Headers }> {
  const response = await fetch(url);
  return { status: response.status, html: await response.text(), headers: response.headers };
}

/** The values of an attribute in the HTML, entities decoded (only those the pages write). */
const attributes = (html: string, name: string): string[] =>
  [...html.matchAll(new RegExp(`${name}="([^"]*)"`, 'g'))].map((m) => m[1]!.replaceAll('&amp;', '&').replaceAll('&quot;', '"').replaceAll('&#39;', "'").replaceAll('&lt;', '<').replaceAll('&gt;', '>'));

describe('web pages over HTTP: home page, viewer pages and their bundled files', () => {
  let cleanup: () => Promise<void>;
  let dir: string;
  let server: RunningServer;
  let base: string;

  before(async () => {
    ({ dir, cleanup } = await tempDir('vitrine-web-pages-'));
    const { out } = await convertCorpus(dir);
    server = await startServer(undefined, { data: out });
    base = server.url;
  });
  after(async () => {
    await server?.close();
    await cleanup?.();
  });

  it('serves the home page as HTML that works without JavaScript, revalidated on each visit', async () => {
    const { status, html, headers } = await getPage(`${base}/`);
    assert.equal(status, 200);
    assert.equal(headers.get('content-type'), 'text/html; charset=utf-8');
    assert.equal(headers.get('cache-control'), 'no-cache');
    assert.match(html, /<html lang="en">/);
    assert.ok(attributes(html, 'href').includes(`${base}/browse/Fonds-A`), 'links to a sub-collection');
    assert.ok(attributes(html, 'href').includes(`${base}/viewer/mirador?manifest=${encodeURIComponent(`${base}/iiif/manifest/odd`)}`));
    // Every script and style sheet is on this server.
    for (const src of [...attributes(html, 'src'), ...attributes(html, 'href').filter((h) => /\.(css|js)$/.test(h))]) {
      assert.ok(src.startsWith(`${base}/`), `${src} is served by Vitrine`);
    }
  });

  it('answers 404 with a page for a collection that does not exist, or an object that is not a collection', async () => {
    for (const url of [`${base}/browse/nowhere`, `${base}/browse/odd`]) {
      const { status, html } = await getPage(url);
      assert.equal(status, 404, url);
      assert.match(html, /<h1>Not found<\/h1>/);
    }
  });

  it('searches every collection by label, in any language and without accents', async () => {
    const labels = async (q: string): Promise<string[]> =>
      [...(await getPage(`${base}/?q=${encodeURIComponent(q)}`)).html.matchAll(/<h3 class="card-title"[^>]*>([^<]*)</g)].map((m) => m[1]!);
    assert.deepEqual(await labels('letters'), ['Letters of Jane Doe']);
    assert.deepEqual(await labels('LETTRES'), ['Letters of Jane Doe'], 'the French label');
    assert.deepEqual(await labels('régistre'), ['Ledger'], 'accents do not matter');
    assert.deepEqual(await labels('box'), ['Box 1', 'Box two'], 'labels, not the folders they are in');
    assert.deepEqual(await labels('nothing like this'), []);
  });

  it('escapes what it echoes: a query or a manifest URL cannot add markup', async () => {
    const evil = '"><script>alert(1)</script>';
    const search = await getPage(`${base}/?q=${encodeURIComponent(evil)}`);
    assert.ok(!search.html.includes('<script>alert'), 'the query is escaped');
    const viewer = await getPage(`${base}/viewer/mirador?manifest=${encodeURIComponent(`${base}/iiif/manifest/x${evil}`)}`);
    assert.equal(viewer.status, 200);
    assert.ok(!viewer.html.includes('<script>alert'), 'the manifest URL is escaped');
  });

  it('serves each viewer page with what to show in data attributes, and a form when it is missing or unusable', async () => {
    const manifest = `${base}/iiif/manifest/Fonds-A/Box-2`;
    const mirador = await getPage(`${base}/viewer/mirador?manifest=${encodeURIComponent(manifest)}`);
    assert.equal(mirador.status, 200);
    assert.deepEqual(attributes(mirador.html, 'data-source'), [manifest]);
    const uv = await getPage(`${base}/viewer/uv?manifest=${encodeURIComponent('/iiif/manifest/Fonds-A/Box-2')}`);
    assert.deepEqual(attributes(uv.html, 'data-source'), [manifest], 'a relative URL is resolved against the server');
    assert.match(attributes(uv.html, 'data-uv-script')[0]!, new RegExp(`^${base}/web/vendor/universalviewer-[^/]+/umd/UV\\.js$`));
    const osd = await getPage(`${base}/viewer/openseadragon?image=${encodeURIComponent(`${base}/iiif/3/odd%2Fa/info.json`)}`);
    assert.match(attributes(osd.html, 'data-images')[0]!, new RegExp(`^${base}/web/vendor/openseadragon-[^/]+/images/$`));

    const form = await getPage(`${base}/viewer/mirador`);
    assert.equal(form.status, 200);
    assert.match(form.html, /<label for="source">IIIF manifest URL<\/label>/);
    const bad = await getPage(`${base}/viewer/uv?manifest=${encodeURIComponent('javascript:alert(1)')}`);
    assert.equal(bad.status, 400);
    assert.match(bad.html, /role="alert">&#39;javascript:alert\(1\)&#39; is not an http\(s\) URL/);
  });

  it('serves the bundles with their types, compressed, and cacheable for ever under hashed names', async () => {
    const pages = ['/', `/viewer/mirador?manifest=${encodeURIComponent(`${base}/iiif/manifest/odd`)}`, '/viewer/uv?manifest=x', '/viewer/openseadragon?image=x'];
    const assets = new Set<string>();
    for (const page of pages) {
      const { html } = await getPage(`${base}${page}`);
      const urls = [...attributes(html, 'src'), ...attributes(html, 'href'), ...attributes(html, 'data-uv-script')];
      for (const url of urls.filter((u) => u.includes('/web/'))) assets.add(url);
    }
    const types = new Set<string>();
    for (const url of assets) {
      const response = await fetch(url, { headers: { 'Accept-Encoding': 'br' } });
      await response.arrayBuffer();
      assert.equal(response.status, 200, url);
      assert.equal(response.headers.get('cache-control'), 'public, max-age=31536000, immutable', url);
      assert.match(response.headers.get('vary') ?? '', /accept-encoding/i, url);
      const type = response.headers.get('content-type') ?? '';
      types.add(/javascript$/.test(type.split(';')[0]!) ? 'javascript' : type.split(';')[0]!);
      const size = Number(response.headers.get('content-length') ?? Infinity);
      if (/\.(js|css)$/.test(url) && size > 1024) assert.equal(response.headers.get('content-encoding'), 'br', `${url} is sent precompressed`);
    }
    assert.deepEqual([...types].sort(), ['javascript', 'text/css']);
    assert.ok([...assets].some((u) => u.endsWith('/umd/UV.js')), "UV's browser build is among them");
    assert.equal((await fetch(`${base}/web/assets.json`)).status, 404, "the build's table of contents is not served");
    assert.equal((await fetch(`${base}/web/`)).status, 404, 'no folder listing');
  });

  it('with a plain images folder: lists the images with a link to the deep-zoom viewer, and says there are no collections', async () => {
    const images = path.join(dir, 'plain-images');
    await mkdir(path.join(images, 'sub'), { recursive: true });
    const picture = sharp({ create: { width: 64, height: 48, channels: 3, background: '#336699' } });
    await picture.clone().png().toFile(path.join(images, 'page10.png'));
    await picture.clone().png().toFile(path.join(images, 'page2.png'));
    await picture.clone().jpeg().toFile(path.join(images, 'sub', 'scan.jpg'));
    await writeFile(path.join(images, 'notes.txt'), 'not an image');
    await writeFile(path.join(images, '.hidden.png'), 'hidden');
    const plain = await startServer(images);
    try {
      const { status, html } = await getPage(`${plain.url}/`);
      assert.equal(status, 200);
      assert.match(html, /without collections or manifests/);
      const names = [...html.matchAll(/<span class="card-title">([^<]*)</g)].map((m) => m[1]);
      assert.deepEqual(names, ['page2.png', 'page10.png', 'sub/scan.jpg'], 'image files in natural order, folders after');
      const info = `${plain.url}/iiif/3/${encodeURIComponent('sub/scan.jpg')}/info.json`;
      assert.ok(attributes(html, 'href').includes(`${plain.url}/viewer/openseadragon?image=${encodeURIComponent(info)}`));
      assert.equal((await fetch(info)).status, 200);
      const search = await getPage(`${plain.url}/?q=scan`);
      assert.deepEqual([...search.html.matchAll(/<span class="card-title">([^<]*)</g)].map((m) => m[1]), ['sub/scan.jpg']);
      assert.equal((await fetch(`${plain.url}/browse/sub`)).status, 404);
    } finally {
      await plain.close();
    }
  });

  it('every thumbnail on a home page answers 200 at the size it declares, also for images smaller than the box', async () => {
    // Image API 3.0 refuses to upscale without '^': a thumbnail of a 64-pixel image must not ask for 200.
    const images = path.join(dir, 'small-images');
    await mkdir(images, { recursive: true });
    await sharp({ create: { width: 64, height: 48, channels: 3, background: '#336699' } }).png().toFile(path.join(images, 'a-tiny.png'));
    await sharp({ create: { width: 150, height: 199, channels: 3, background: '#993366' } }).jpeg().toFile(path.join(images, 'b-narrow.jpg'));
    await sharp({ create: { width: 640, height: 120, channels: 3, background: '#669933' } }).png().toFile(path.join(images, 'c-wide.png'));
    await writeFile(path.join(images, 'd-broken.png'), 'not a PNG');
    const masters = path.join(dir, 'small-masters');
    await mkdir(path.join(masters, 'Tiny'), { recursive: true });
    await sharp({ create: { width: 120, height: 90, channels: 3, background: '#666699' } }).tiff().toFile(path.join(masters, 'Tiny', '001.tif'));
    const converted = await vitrine('convert', masters, '--out', path.join(dir, 'small-out'));
    assert.equal(converted.code, 0, converted.stderr);

    const plain = await startServer(images);
    const catalog = await startServer(undefined, { data: path.join(dir, 'small-out') });
    try {
      for (const [url, count] of [[`${plain.url}/`, 3], [`${catalog.url}/`, 1], [`${base}/browse/Fonds-A/Box-1`, 3]] as const) {
        const { status, html } = await getPage(url);
        assert.equal(status, 200, url);
        const thumbs = [...html.matchAll(/<img class="thumb" src="([^"]*)"(?: width="(\d+)" height="(\d+)")?/g)];
        for (const [, src, width, height] of thumbs) {
          const response = await fetch(src!.replaceAll('&amp;', '&'));
          assert.equal(response.status, 200, `${src}: ${response.status} ${response.status === 200 ? '' : await response.text()}`);
          const meta = await sharp(Buffer.from(await response.arrayBuffer())).metadata();
          assert.deepEqual([meta.width, meta.height], [Number(width), Number(height)], `${src}: the size the page declares`);
          assert.ok(Math.max(meta.width, meta.height) <= 200, src);
        }
        assert.equal(thumbs.length, count, `${url}: one thumbnail per readable image`);
      }
      // The unreadable file still has its card and links, with an empty picture.
      const { html } = await getPage(`${plain.url}/`);
      assert.match(html, /thumb-empty[^]*d-broken\.png/);
      assert.match(html, /a-tiny\.png\/full\/64,48\/0\/default\.jpg/, 'a small image is shown at its own size');
    } finally {
      await plain.close();
      await catalog.close();
    }
  });

  it('builds every link from --base-url behind a proxy', async () => {
    const proxied = await startServer(undefined, { data: path.join(dir, 'out'), baseUrl: 'https://iiif.example.org/vitrine' });
    try {
      const { html } = await getPage(`${proxied.url}/browse/Fonds-A/Box-1`);
      const urls = [...attributes(html, 'href'), ...attributes(html, 'src')].filter((u) => !u.startsWith('#') && !u.startsWith('data:'));
      assert.ok(urls.length > 10);
      for (const url of urls) assert.ok(url.startsWith('https://iiif.example.org/vitrine/'), url);
    } finally {
      await proxied.close();
    }
  });
});
