import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import sharp from 'sharp';
import { Catalog } from '../../src/catalog/catalog.js';
import { openSource } from '../../src/imaging/open-source.js';
import { findStoredTile, readStoredTile } from '../../src/imaging/passthrough.js';
import { PUBLIC_DIR, WebAssets } from '../../src/web/assets.js';
import { viewerPage } from '../../src/web/viewer-page.js';
import { vitrine } from '../helpers/cli.js';
import { assertValid2, assertValid3, crawl, type Json } from '../helpers/presentation.js';
import { REFERENCE_PNG, startServer, tempDir, type RunningServer } from '../helpers/server.js';
import { OBJECTS, writeMasters } from '../presentation/corpus.js';
import { GuardedPage, launch, waitUntil } from '../web/browser.js';

/** A page large enough for four scale factors of 256-px tiles, with edge tiles on both sides. */
const BIG = { id: 'Large/Plate', page: 'Large/Plate/plate-001', width: 1530, height: 1003 };

const TYPES: Record<string, string> = { '.json': 'application/json', '.jpg': 'image/jpeg', '.js': 'text/javascript', '.css': 'text/css', '.html': 'text/html', '.woff2': 'font/woff2', '.woff': 'font/woff', '.svg': 'image/svg+xml', '.png': 'image/png' };

/**
 * A plain static file server, no Vitrine in it: URL path → file under `root`, as web hosts map it.
 * `decode` turns %2F into a slash before looking the file up (nginx, S3 websites, Python's
 * http.server, the npm static servers); `literal` keeps %2F in the name (lighttpd's default, Apache
 * with AllowEncodedSlashes NoDecode). /web/… are the viewers' bundles, /viewer/… the viewer pages.
 */
async function staticHost(root: string, pages: string, slashes: 'decode' | 'literal'): Promise<{ url: string; server: Server; served: string[] }> {
  const served: string[] = [];
  const server = createServer((req, res) => {
    const pathname = new URL(req.url ?? '/', 'http://x').pathname;
    const decoded = slashes === 'decode' ? decodeURIComponent(pathname) : pathname.split(/%2F/i).map(decodeURIComponent).join('%2F');
    const segments = decoded.split('/').filter((s) => s !== '' && s !== '.' && s !== '..');
    const file =
      segments[0] === 'web' ? path.join(PUBLIC_DIR, ...segments.slice(1)) : segments[0] === 'viewer' ? path.join(pages, ...segments.slice(1)) : path.join(root, ...segments);
    readFile(file).then(
      (body) => {
        served.push(pathname);
        res.writeHead(200, { 'Content-Type': TYPES[path.extname(file)] ?? 'application/octet-stream', 'Access-Control-Allow-Origin': '*' }).end(body);
      },
      () => res.writeHead(404).end(),
    );
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, served };
}

interface Expected {
  readonly width: number;
  readonly height: number;
}

/**
 * Every `{region}/{size}` a level-0 client may ask of an image, worked out from its info.json alone
 * by the Image API's tile arithmetic (and the canonical forms OpenSeadragon uses): each tile of each
 * scale factor, each declared size, and the whole image. With the size each must decode to.
 */
function impliedRequests(info: Json, version: 2 | 3): Map<string, Expected> {
  const W = info.width as number;
  const H = info.height as number;
  const [tiles] = info.tiles as Array<{ width: number; height: number; scaleFactors: number[] }>;
  const out = new Map<string, Expected>();
  const size = (w: number, h: number, rw: number, rh: number): [string, Expected] => {
    if (version === 3) return [w === W && h === H ? 'max' : `${w},${h}`, { width: w, height: h }];
    return [w === W ? 'full' : `${w},`, { width: w, height: Math.round((rh * w) / rw) }];
  };
  const whole = size(W, H, W, H);
  out.set(`full/${whole[0]}`, whole[1]);
  for (const s of info.sizes as Expected[]) {
    const [param, expected] = size(s.width, s.height, W, H);
    assert.deepEqual(expected, s, `declared size ${s.width}×${s.height} is what full/${param} gives`);
    out.set(`full/${param}`, expected);
  }
  const { width: tw, height: th } = tiles!;
  for (const f of tiles!.scaleFactors) {
    for (let yr = 0; yr < H; yr += th * f) {
      for (let xr = 0; xr < W; xr += tw * f) {
        const wr = Math.min(tw * f, W - xr);
        const hr = Math.min(th * f, H - yr);
        const region = xr === 0 && yr === 0 && wr === W && hr === H ? 'full' : `${xr},${yr},${wr},${hr}`;
        const [param, expected] = size(Math.ceil(wr / f), Math.ceil(hr / f), wr, hr);
        out.set(`${region}/${param}`, expected);
      }
    }
  }
  return out;
}

/** Files under an image's folder, as `{region}/{size}` (its info.json left out). */
async function writtenRequests(dir: string): Promise<string[]> {
  const files = (await readdir(dir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile());
  return files
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)).split(path.sep).join('/'))
    .filter((f) => f !== 'info.json')
    .map((f) => {
      assert.match(f, /^[^/]+\/[^/]+\/0\/default\.jpg$/, `${dir}: unexpected file ${f}`);
      return f.replace(/\/0\/default\.jpg$/, '');
    });
}

async function pixels(jpeg: Buffer): Promise<{ data: Buffer; width: number; height: number }> {
  const { data, info } = await sharp(jpeg).raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

describe('vitrine export: a static level-0 copy served by a plain web host', () => {
  let cleanup: () => Promise<void>;
  let data: string;
  let site: string;
  let vitrineServer: RunningServer;
  let host: Awaited<ReturnType<typeof staticHost>>;
  let literalHost: Awaited<ReturnType<typeof staticHost>>;
  let exported: { code: number; stdout: string; stderr: string };
  let identifiers: string[];
  let browser: Browser;

  before(async () => {
    const tmp = await tempDir('vitrine-static-');
    cleanup = tmp.cleanup;
    const masters = path.join(tmp.dir, 'masters');
    data = path.join(tmp.dir, 'data');
    site = path.join(tmp.dir, 'site');
    const pages = path.join(tmp.dir, 'pages');
    await writeMasters(masters);
    await mkdir(path.join(masters, 'Large', 'Plate'), { recursive: true });
    await sharp(REFERENCE_PNG).removeAlpha().resize(BIG.width, BIG.height, { fit: 'fill', kernel: 'nearest' }).png().toFile(path.join(masters, 'Large', 'Plate', 'plate-001.png'));
    const converted = await vitrine('convert', masters, '--out', data, '--workers', '2');
    assert.equal(converted.code, 0, converted.stderr);
    // The host's address is the copy's --base-url, so it must listen before the export.
    await mkdir(pages, { recursive: true });
    host = await staticHost(site, pages, 'decode');
    literalHost = await staticHost(site, pages, 'literal');
    exported = await vitrine('export', '--data', data, '--base-url', host.url, '--out', site, '--workers', '2', '--json');
    const catalog = new Catalog(path.join(data, 'catalog.sqlite'), { readonly: true });
    identifiers = catalog.objects().flatMap((o) => catalog.pages(o.id).map((p) => p.identifier));
    catalog.close();
    vitrineServer = await startServer(undefined, { data });
    const assets = WebAssets.load();
    if (!assets) throw new Error(`the viewers are not built in ${PUBLIC_DIR}: run npm run build`);
    const manifest = `${host.url}/manifest/${BIG.id}.json`;
    await writeFile(path.join(pages, 'mirador.html'), viewerPage({ base: host.url, assets, viewer: 'mirador', target: manifest }).value);
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    host?.server.close();
    literalHost?.server.close();
    await vitrineServer?.close();
    await cleanup?.();
  });

  it('exports every image, and reports what it wrote', () => {
    assert.equal(exported.code, 0, exported.stderr);
    const report = JSON.parse(exported.stdout) as { images: number; exported: number; failed: unknown[]; manifests: number; top: string };
    assert.equal(report.images, identifiers.length);
    assert.equal(report.exported, identifiers.length);
    assert.deepEqual(report.failed, []);
    assert.equal(report.manifests, OBJECTS.length + 1);
    assert.equal(report.top, `${host.url}/collection/top.json`);
  });

  it('info.json is level 0, and every tile and size it implies is there, decodes to its size, and nothing else is written', async () => {
    let checked = 0;
    for (const identifier of identifiers) {
      for (const version of [3, 2] as const) {
        const base = `${host.url}/iiif/${version}/${encodeURIComponent(identifier)}`;
        const response = await fetch(`${base}/info.json`);
        assert.equal(response.status, 200, `${base}/info.json`);
        const info = (await response.json()) as Json;
        if (version === 3) {
          assert.equal(info.id, base);
          assert.equal(info.profile, 'level0');
          for (const claim of ['maxWidth', 'maxHeight', 'maxArea', 'extraFeatures', 'extraFormats', 'extraQualities']) assert.ok(!(claim in info), `${base}: claims ${claim}`);
        } else {
          assert.equal(info['@id'], base);
          assert.deepEqual(info.profile, ['http://iiif.io/api/image/2/level0.json']);
        }
        const implied = impliedRequests(info, version);
        const written = await writtenRequests(path.join(site, 'iiif', String(version), ...identifier.split('/')));
        assert.deepEqual([...written].sort(), [...implied.keys()].sort(), `${base}: files written are exactly those info.json implies`);
        for (const [request, expected] of implied) {
          const url = `${base}/${request}/0/default.jpg`;
          const image = await fetch(url);
          assert.equal(image.status, 200, url);
          const { width, height } = await pixels(Buffer.from(await image.arrayBuffer()));
          assert.deepEqual({ width, height }, expected, url);
          checked++;
        }
      }
    }
    assert.ok(checked > 100, `${checked} image URLs checked`);
  });

  it('pixels of every exported tile and size equal the Vitrine server’s for the same URL', async () => {
    for (const identifier of [BIG.page, identifiers[0]!]) {
      for (const version of [3, 2] as const) {
        const suffix = `/iiif/${version}/${encodeURIComponent(identifier)}`;
        const info = (await (await fetch(`${host.url}${suffix}/info.json`)).json()) as Json;
        for (const request of impliedRequests(info, version).keys()) {
          const [copy, served] = await Promise.all(
            [host.url, vitrineServer.url].map(async (origin) => {
              const response = await fetch(`${origin}${suffix}/${request}/0/default.jpg`);
              assert.equal(response.status, 200, `${origin}${suffix}/${request}`);
              return pixels(Buffer.from(await response.arrayBuffer()));
            }),
          );
          assert.equal(copy!.width, served!.width, request);
          assert.equal(copy!.height, served!.height, request);
          assert.ok(copy!.data.equals(served!.data), `${suffix}/${request}: pixels differ from the server's`);
        }
      }
    }
  });

  it('stored JPEG tiles are copied byte for byte, not re-encoded', async () => {
    const catalog = new Catalog(path.join(data, 'catalog.sqlite'), { readonly: true });
    const page = catalog.pageByIdentifier(BIG.page)!;
    catalog.close();
    const source = await openSource(path.isAbsolute(page.derivativePath) ? page.derivativePath : path.join(data, page.derivativePath));
    try {
      const request = { region: { x: 256, y: 256, width: 256, height: 256 }, size: { width: 256, height: 256 }, mirror: false, rotation: 0, quality: 'default', format: 'jpg' } as const;
      const stored = findStoredTile(source, request);
      assert.ok(stored, 'the derivative stores that tile');
      const bytes = await readStoredTile(source, stored, undefined);
      for (const version of [3, 2] as const) {
        const size = version === 3 ? '256,256' : '256,';
        const file = path.join(site, 'iiif', String(version), ...BIG.page.split('/'), '256,256,256,256', size, '0', 'default.jpg');
        assert.ok((await readFile(file)).equals(bytes!), `${file} is the stored tile`);
      }
    } finally {
      await source.close();
    }
  });

  it('a host that keeps %2F in file names finds the same files (through the encoded-name links)', async () => {
    const suffix = `/iiif/3/${encodeURIComponent(BIG.page)}`;
    for (const request of ['info.json', 'full/max/0/default.jpg', '0,0,512,512/256,256/0/default.jpg']) {
      const [a, b] = await Promise.all([host.url, literalHost.url].map((origin) => fetch(`${origin}${suffix}/${request}`).then(async (r) => ({ status: r.status, body: Buffer.from(await r.arrayBuffer()) }))));
      assert.equal(b!.status, 200, `literal %2F: ${request}`);
      assert.ok(a!.body.equals(b!.body), request);
    }
  });

  it('manifests and collections are valid, point at the copy, and every image they name is there', async () => {
    for (const version of [3, 2] as const) {
      const top = version === 3 ? `${host.url}/collection/top.json` : `${host.url}/presentation/2/collection/top.json`;
      const { collections, manifests } = await crawl(top, version);
      assert.ok(collections.size >= 3);
      assert.equal(manifests.length, OBJECTS.length + 1);
      for (const [url, c] of collections) version === 3 ? assertValid3(c, url) : assertValid2(c, url);
      for (const url of manifests) {
        const manifest = (await (await fetch(url)).json()) as Json;
        version === 3 ? assertValid3(manifest, url) : assertValid2(manifest, url);
        const text = JSON.stringify(manifest);
        // Every image URL (bodies, thumbnails) and every service: a file or a folder with info.json on the copy.
        const images = [...text.matchAll(/"(http:\/\/127\.0\.0\.1:\d+\/iiif\/[23]\/[^"]+?\.jpg)"/g)].map((m) => m[1]!);
        const services = [...text.matchAll(/"(http:\/\/127\.0\.0\.1:\d+\/iiif\/[23]\/[^"/]+)"/g)].map((m) => `${m[1]!}/info.json`);
        assert.ok(images.length > 0 && services.length > 0, url);
        for (const image of new Set([...images, ...services])) {
          assert.ok(image.startsWith(`${host.url}/`), `${image} is on the copy`);
          assert.equal((await fetch(image)).status, 200, `${url} names ${image}`);
        }
        assert.ok(!text.includes('level2'), `${url}: services say level 0`);
      }
    }
  });

  it('Mirador in Chromium opens an exported manifest from the static host: every tile answers 200, no 404', async () => {
    const g = await GuardedPage.open(browser, host.url);
    await g.page.goto(`${host.url}/viewer/mirador.html`);
    const tiles = () => g.imageResponses().filter((r) => /\/\d+,\d+,\d+,\d+\/\d+,\d+\/0\/default\.jpg$/.test(r.url()));
    await waitUntil('Mirador to request tiles', () => tiles().length >= 2, 30_000);
    await waitUntil('the tiles to arrive', () => Promise.all(tiles().map((r) => r.finished())).then(() => true));
    // Zoom in until full-resolution tiles (region as wide as the output) are asked for.
    const fullResolution = () => tiles().filter((r) => {
      const [, region, size] = /\/(\d+,\d+,\d+,\d+)\/(\d+),\d+\/0\/default\.jpg$/.exec(r.url())!;
      return Number(region!.split(',')[2]) === Number(size);
    });
    const canvas = (await g.page.locator('#viewer canvas').first().boundingBox())!;
    await g.page.mouse.move(canvas.x + canvas.width / 2, canvas.y + canvas.height / 2);
    for (let i = 0; i < 10; i++) await g.page.mouse.wheel(0, -240);
    await waitUntil('full-resolution tiles', () => fullResolution().length > 0, 30_000);
    await waitUntil('every tile to arrive', () => Promise.all(tiles().map((r) => r.finished())).then(() => true));
    const requested = g.imageResponses();
    assert.deepEqual(requested.filter((r) => r.status() !== 200).map((r) => `${r.status()} ${r.url()}`), [], 'every image request answers 200');
    assert.deepEqual(g.responses.filter((r) => r.status() >= 400).map((r) => `${r.status()} ${r.url()}`), [], 'no request failed');
    assert.ok(g.responses.some((r) => r.url() === `${host.url}/manifest/${BIG.id}.json` && r.status() === 200), 'the manifest came from the copy');
    await g.screenshot('mirador-static-export');
    g.assertClean('Mirador on the static copy');
    await g.close();
  });

  it('a second run skips what is done; a run after an interruption writes only what is missing', async () => {
    const again = await vitrine('export', '--data', data, '--base-url', host.url, '--out', site, '--json');
    assert.equal(again.code, 0, again.stderr);
    const report = JSON.parse(again.stdout) as { exported: number; skipped: number; files: number };
    assert.deepEqual({ exported: report.exported, skipped: report.skipped, files: report.files }, { exported: 0, skipped: identifiers.length, files: 0 });
    // As if killed before the image was finished: its record is gone, and one tile with it.
    await rm(path.join(site, '.vitrine-export', `${encodeURIComponent(BIG.page)}.done`));
    const tile = path.join(site, 'iiif', '3', ...BIG.page.split('/'), '256,256,256,256', '256,256', '0', 'default.jpg');
    await rm(tile);
    const resumed = await vitrine('export', '--data', data, '--base-url', host.url, '--out', site, '--json');
    const after = JSON.parse(resumed.stdout) as { exported: number; skipped: number; files: number };
    assert.deepEqual({ exported: after.exported, skipped: after.skipped, files: after.files }, { exported: 1, skipped: identifiers.length - 1, files: 1 });
    assert.equal((await fetch(`${host.url}/iiif/3/${encodeURIComponent(BIG.page)}/256,256,256,256/256,256/0/default.jpg`)).status, 200);
  });

  it('usage errors exit 2 with the reason: no --base-url, a relative one, no catalog', async () => {
    const missing = await vitrine('export', '--data', data, '--out', site);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--base-url/);
    const relative = await vitrine('export', '--data', data, '--out', site, '--base-url', '/archive');
    assert.equal(relative.code, 2);
    assert.match(relative.stderr, /--base-url: '\/archive' is not an absolute http\(s\) URL/);
    const noCatalog = await vitrine('export', '--data', site, '--out', site, '--base-url', host.url);
    assert.equal(noCatalog.code, 2);
    assert.match(noCatalog.stderr, /has no catalog\.sqlite/);
  });
});
