import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { vitrine } from '../helpers/cli.js';
import { pagePicture } from '../helpers/corpus.js';
import { startServer, tempDir, type RunningServer } from '../helpers/server.js';

/**
 * Ids, Link headers, redirects and page links are built on the public base URL. Without
 * --base-url it comes from the request (Host, and X-Forwarded-* behind a trusted proxy): every
 * such response must then say so in Vary, or a shared cache would hand a document made for one
 * (possibly forged) host to everyone. With --base-url, nothing a request sends changes an id.
 */

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
}

/** A GET over node:http, which sends the Host header given (fetch would not). */
function getWith(url: string, headers: Record<string, string>): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** The request headers a response says it varies on, lower-cased. */
const varyOf = (answer: Answer): string[] =>
  String(answer.headers.vary ?? '')
    .split(',')
    .map((f) => f.trim().toLowerCase())
    .filter(Boolean);

/** Where the public base shows: the body, the Link header, the Location of a redirect. */
const shown = (answer: Answer): string => `${answer.text}\n${String(answer.headers.link ?? '')}\n${String(answer.headers.location ?? '')}`;

const OBJECT = 'Fonds/Box-1';

describe('public base URL: ids from the request vary on it, ids from --base-url never do', () => {
  let cleanup: () => Promise<void>;
  let out: string;
  let plain: RunningServer;
  let proxied: RunningServer;
  let configured: RunningServer;
  let page: string;

  before(async () => {
    const tmp = await tempDir('vitrine-public-url-');
    cleanup = tmp.cleanup;
    const masters = path.join(tmp.dir, 'masters');
    out = path.join(tmp.dir, 'out');
    await mkdir(path.join(masters, 'Fonds', 'Box 1'), { recursive: true });
    await pagePicture(1).tiff({ compression: 'lzw' }).toFile(path.join(masters, 'Fonds', 'Box 1', '001.tif'));
    const result = await vitrine('convert', masters, '--out', out);
    assert.equal(result.code, 0, result.stderr);
    plain = await startServer(undefined, { data: out });
    proxied = await startServer(undefined, { data: out, trustProxy: true });
    configured = await startServer(undefined, { data: out, trustProxy: true, baseUrl: 'https://iiif.example.org/v' });
    const manifest = JSON.parse((await getWith(`${plain.url}/iiif/manifest/${OBJECT}`, {})).text) as { items: Array<{ items: Array<{ items: Array<{ body: { service: Array<{ id: string }> } }> }> }> };
    page = manifest.items[0]!.items[0]!.items[0]!.body.service[0]!.id.split('/iiif/3/')[1]!;
  });
  after(async () => {
    await plain?.close();
    await proxied?.close();
    await configured?.close();
    await cleanup?.();
  });

  /** Every kind of response that carries the public base, as paths. */
  const paths = (): string[] => [
    `/iiif/3/${page}/info.json`,
    `/iiif/2/${page}/info.json`,
    `/iiif/3/${page}/full/max/0/default.jpg`,
    `/iiif/2/${page}/full/100,/0/default.jpg`,
    `/iiif/3/${page}`,
    `/iiif/manifest/${OBJECT}`,
    `/iiif/presentation/2/manifest/${OBJECT}`,
    '/iiif/collection/top',
    '/iiif/presentation/2/collection/top',
    '/',
    '/browse/Fonds',
    `/viewer/mirador?manifest=/iiif/manifest/${OBJECT}`,
  ];

  it('without --base-url, ids follow the Host header and every such response varies on Host', async () => {
    for (const p of paths()) {
      for (const host of ['a.example:8080', 'b.example']) {
        const answer = await getWith(`${plain.url}${p}`, { Host: host });
        assert.ok(answer.status < 400, `${p} → ${answer.status} ${answer.text.slice(0, 200)}`);
        assert.ok(shown(answer).includes(`http://${host}/`), `${p}: built on the Host ${host}`);
        assert.ok(varyOf(answer).includes('host'), `${p}: Vary '${String(answer.headers.vary)}' names Host`);
        // Without --trust-proxy, forwarded headers change nothing and are not varied on.
        assert.ok(!varyOf(answer).includes('x-forwarded-host'), `${p}: Vary '${String(answer.headers.vary)}'`);
      }
    }
    // Vary is added to, not replaced: info.json and manifests still vary on Accept.
    for (const p of [`/iiif/3/${page}/info.json`, `/iiif/manifest/${OBJECT}`]) {
      assert.ok(varyOf(await getWith(`${plain.url}${p}`, {})).includes('accept'), p);
    }
  });

  it('a 304 carries the same Vary as the 200 it confirms', async () => {
    const url = `${plain.url}/iiif/3/${page}/info.json`;
    const first = await getWith(url, {});
    const again = await getWith(url, { 'If-None-Match': String(first.headers.etag) });
    assert.equal(again.status, 304);
    assert.deepEqual(varyOf(again), varyOf(first));
  });

  it('with --trust-proxy, X-Forwarded-Host/Proto shape the ids, and responses vary on them too', async () => {
    const forwarded = { 'X-Forwarded-Host': 'evil.example', 'X-Forwarded-Proto': 'https' };
    for (const p of paths()) {
      const answer = await getWith(`${proxied.url}${p}`, forwarded);
      assert.ok(answer.status < 400, `${p} → ${answer.status}`);
      assert.ok(shown(answer).includes('https://evil.example/'), `${p}: built on the forwarded host`);
      for (const header of ['host', 'x-forwarded-host', 'x-forwarded-proto']) {
        assert.ok(varyOf(answer).includes(header), `${p}: Vary '${String(answer.headers.vary)}' names ${header}`);
      }
    }
  });

  it('with --base-url, no request header changes an id, and responses do not vary on them', async () => {
    const hostile = { Host: 'evil.example', 'X-Forwarded-Host': 'evil.example', 'X-Forwarded-Proto': 'http' };
    for (const p of paths()) {
      const answer = await getWith(`${configured.url}${p}`, hostile);
      assert.ok(answer.status < 400, `${p} → ${answer.status}`);
      assert.ok(shown(answer).includes('https://iiif.example.org/v/'), `${p}: built on --base-url`);
      assert.ok(!shown(answer).includes('evil.example'), `${p}: nothing from the request's headers`);
      for (const header of ['host', 'x-forwarded-host', 'x-forwarded-proto']) {
        assert.ok(!varyOf(answer).includes(header), `${p}: Vary '${String(answer.headers.vary)}' needs no ${header}`);
      }
    }
  });
});
