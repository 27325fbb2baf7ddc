import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { startServer, tempDir, type RunningServer } from '../helpers/server.js';
import { convert, csrfOf, IDS, Jar, writeProtectedMasters } from './fixture.js';

const enc = encodeURIComponent;
const VIEWER = 'https://viewer.example.org';

/**
 * Every URL form that reaches a restricted image's pixels or description, without credentials:
 * each answers 401 (or 403), never the image. Paths are sent as written (no normalisation).
 */
function restrictedForms(id: string): { method: 'GET' | 'HEAD'; path: string }[] {
  const e = enc(id);
  const spellings = [
    e, // Fonds%2FLetter%2F001
    e.replace(/%2F/g, '%2f'), // %2f in lower case
    `${e}.tif`, // with the derivative's extension
    `%${id.charCodeAt(0).toString(16).toUpperCase()}${enc(id.slice(1))}`, // a letter percent-encoded
    encodeURIComponent(`${id}.tif`).replace(/\./g, '%2E'), // the extension's dot encoded
  ];
  const forms: string[] = [];
  for (const s of spellings) {
    forms.push(
      `/iiif/3/${s}/info.json`,
      `/iiif/2/${s}/info.json`,
      `/iiif/3/${s}/full/max/0/default.jpg`,
      `/iiif/3/${s}/full/^max/0/default.jpg`,
      `/iiif/2/${s}/full/full/0/default.jpg`,
      `/iiif/2/${s}/full/max/0/default.png`,
      `/iiif/3/${s}/0,0,256,256/256,/0/default.jpg`, // a stored tile (passthrough)
      `/iiif/3/${s}/256,256,256,194/256,/0/default.jpg`, // an edge tile
      `/iiif/3/${s}/0,0,600,450/75,/0/default.jpg`, // a level of the pyramid
      `/iiif/3/${s}/100,100,50,50/max/0/default.png`, // a region
      `/iiif/3/${s}/pct:10,10,50,50/pct:50/0/gray.jpg`,
      `/iiif/3/${s}/square/!100,100/90/default.webp`,
      `/iiif/3/${s}/full/!32,32/!0/bitonal.png`,
      `/iiif/2/${s}/full/32,/0/default.jpg`,
    );
  }
  return [...forms.map((p) => ({ method: 'GET' as const, path: p })), ...forms.map((p) => ({ method: 'HEAD' as const, path: p }))];
}

describe('no bypass: every URL form of a restricted image answers 401 without authorisation', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let server: RunningServer;

  before(async () => {
    ({ dir, cleanup } = await tempDir('vitrine-auth-bypass-'));
    await writeProtectedMasters(path.join(dir, 'masters'));
    await convert(path.join(dir, 'masters'), path.join(dir, 'data'));
    // The gate is under test, not upscaling: ^max renders 2 MP here, not the default 25 MP (20 such renders took ~20 s).
    server = await startServer(undefined, { data: path.join(dir, 'data'), maxArea: 2_000_000 });
  });
  after(async () => {
    await server?.close();
    await cleanup();
  });

  it('the restricted image: info.json 3.0 and 2.1, tiles, regions, max, pct:, every spelling, GET and HEAD', async () => {
    const forms = restrictedForms(IDS.restricted);
    assert.ok(forms.length >= 100, `${forms.length} forms`);
    const leaks: string[] = [];
    for (const { method, path: p } of forms) {
      const response = await fetch(`${server.url}${p}`, { method });
      const body = Buffer.from(await response.arrayBuffer());
      if (response.status !== 401 && response.status !== 403) leaks.push(`${method} ${p} → ${response.status}`);
      if (/^image\//.test(response.headers.get('content-type') ?? '')) leaks.push(`${method} ${p} → an image (${body.length} bytes)`);
      if (response.headers.get('cache-control') !== 'no-store') leaks.push(`${method} ${p} → cacheable (${response.headers.get('cache-control')})`);
    }
    assert.deepEqual(leaks, []);
  });

  it('the same forms open the open image and the one a sidecar opens (so the list is not refused for another reason)', async () => {
    for (const id of [IDS.open, IDS.openedBySidecar]) {
      const failures: string[] = [];
      const forms = restrictedForms(id);
      // Four at a time: these are real renders (upscaled ones among them), most of this file's time one by one.
      let next = 0;
      await Promise.all(
        Array.from({ length: 4 }, async () => {
          for (let form = forms[next++]; form !== undefined; form = forms[next++]) {
            const response = await fetch(`${server.url}${form.path}`, { method: form.method });
            await response.arrayBuffer();
            if (response.status !== 200) failures.push(`${form.method} ${form.path} → ${response.status}`);
          }
        }),
      );
      assert.deepEqual(failures, [], id);
    }
  });

  it('the base URI redirect only leads to the gated info.json', async () => {
    const redirect = await fetch(`${server.url}/iiif/3/${enc(IDS.restricted)}`, { redirect: 'manual' });
    assert.equal(redirect.status, 303);
    assert.equal((await fetch(redirect.headers.get('location')!)).status, 401);
  });

  it('the manifest stays public and names the probe of each protected image', async () => {
    const response = await fetch(`${server.url}/iiif/manifest/Fonds/Letter`);
    assert.equal(response.status, 200);
    const manifest = (await response.json()) as Record<string, unknown>;
    const text = JSON.stringify(manifest);
    assert.deepEqual(manifest['@context'], ['http://iiif.io/api/auth/2/context.json', 'http://iiif.io/api/auth/1/context.json', 'http://iiif.io/api/presentation/3/context.json']);
    assert.ok(text.includes(`/iiif/auth/2/probe/${enc(IDS.restricted)}`), text.slice(0, 2000));
    assert.ok(text.includes('AuthAccessService2'));
    const open = JSON.stringify(await (await fetch(`${server.url}/iiif/manifest/Open`)).json());
    assert.ok(!open.includes('AuthProbeService2'), 'an open object names no auth service');
  });
});

describe('a degraded image: sizes up to degradedSize for everyone, the rest after the clickthrough', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let server: RunningServer;
  const id = enc(IDS.degraded);

  before(async () => {
    ({ dir, cleanup } = await tempDir('vitrine-auth-degraded-'));
    await writeProtectedMasters(path.join(dir, 'masters'));
    await convert(path.join(dir, 'masters'), path.join(dir, 'data'));
    server = await startServer(undefined, { data: path.join(dir, 'data') });
  });
  after(async () => {
    await server?.close();
    await cleanup();
  });

  const size = async (response: Response): Promise<[number?, number?]> => {
    const meta = await sharp(Buffer.from(await response.arrayBuffer())).metadata();
    return [meta.width, meta.height];
  };

  it('info.json offers only sizes and tile levels within 200 px (600×450 image), and its limits say so', async () => {
    for (const version of [3, 2]) {
      const redirect = await fetch(`${server.url}/iiif/${version}/${id}/info.json`, { redirect: 'manual' });
      assert.equal(redirect.status, 302, 'Auth 1.0 § 3.2 tiered access: the full service sends a guest to the degraded one');
      assert.equal(redirect.headers.get('cache-control'), 'no-store', 'the redirect depends on credentials: never stored');
      const response = await fetch(`${server.url}/iiif/${version}/${id}/info.json`);
      const info = (await response.json()) as { width: number; sizes: { width: number; height: number }[]; tiles?: unknown; maxWidth?: number; profile: unknown; id?: string; '@id'?: string };
      assert.equal(info.id ?? info['@id'], `${server.url}/iiif/auth/1/degraded/${version}/${id}`);
      assert.equal(info.width, 600, 'the full dimensions, as the spec requires');
      assert.ok(info.sizes.length > 0 && info.sizes.every((s) => s.width <= 200 && s.height <= 150), JSON.stringify(info.sizes));
      // No 256 px tile fits in 200 px: the description offers its sizes only (level 0, no tiles), so viewers ask for those.
      assert.equal(info.tiles, undefined, JSON.stringify(info.tiles));
      assert.equal(version === 3 ? info.profile : (info.profile as string[])[0], version === 3 ? 'level0' : 'http://iiif.io/api/image/2/level0.json');
      const maxWidth = version === 3 ? info.maxWidth : (info.profile as [string, { maxWidth: number }])[1].maxWidth;
      assert.equal(maxWidth, 200);
    }
  });

  it('max gives the degraded size; any finer request is 401, a coarser one is served', async () => {
    const max = await fetch(`${server.url}/iiif/3/${id}/full/max/0/default.jpg`);
    assert.equal(max.status, 200);
    assert.deepEqual(await size(max), [200, 150]);
    assert.equal(max.headers.get('cache-control'), 'private, no-cache');
    for (const p of ['full/201,/0/default.jpg', 'full/600,450/0/default.jpg', '0,0,300,300/101,/0/default.jpg', '0,0,256,256/256,/0/default.jpg', 'pct:0,0,50,50/max/0/default.jpg'.replace('max', '151,')]) {
      assert.equal((await fetch(`${server.url}/iiif/3/${id}/${p}`)).status, 401, p);
    }
    const region = await fetch(`${server.url}/iiif/3/${id}/0,0,300,300/100,/0/default.jpg`);
    assert.equal(region.status, 200, 'a region at the allowed scale');
    assert.deepEqual(await size(region), [100, 100]);
    const regionMax = await fetch(`${server.url}/iiif/3/${id}/0,0,300,300/max/0/default.jpg`);
    assert.deepEqual(await size(regionMax), [100, 100], 'max of a region: at the allowed scale, not 200 px of a detail');
    assert.equal((await fetch(`${server.url}/iiif/3/${id}/full/bad/0/default.jpg`)).status, 400, 'a malformed request stays a 400');
  });

  it('after accepting the terms (clickthrough), the full image', async () => {
    const jar = new Jar();
    const terms = await jar.fetch(`${server.url}/iiif/auth/2/access/clickthrough?origin=${enc(VIEWER)}`);
    const accepted = await jar.fetch(`${server.url}/iiif/auth/2/access/clickthrough`, { method: 'POST', body: new URLSearchParams({ csrf: csrfOf(await terms.text()), origin: VIEWER }) });
    assert.equal(accepted.status, 200);
    const full = await jar.fetch(`${server.url}/iiif/3/${id}/full/max/0/default.jpg`);
    assert.equal(full.status, 200);
    assert.deepEqual(await size(full), [600, 450]);
    const info = (await (await jar.fetch(`${server.url}/iiif/3/${id}/info.json`)).json()) as { sizes: { width: number }[] };
    assert.ok(info.sizes.some((s) => s.width === 600));
  });
});
