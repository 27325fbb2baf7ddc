import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { parseImageRequest } from '../../src/image-api/grammar.js';
import { resolveRequest } from '../../src/image-api/resolve.js';
import { nativeAddon } from '../../src/imaging/native.js';
import { openSource, type OpenedSource } from '../../src/imaging/open-source.js';
import { findStoredTile, readStoredTile } from '../../src/imaging/passthrough.js';
import { assertSimilar, decode, fetchBytes } from '../helpers/pixels.js';
import { REFERENCE_PNG, startServer, tempDir, type RunningServer } from '../helpers/server.js';

/** The quantisation tables of a JPEG stream (values only, in hex): they tell which encoder made it. */
function quantTables(jpeg: Buffer): string[] {
  const tables: string[] = [];
  for (let i = 2; i + 4 <= jpeg.length; ) {
    if (jpeg[i] !== 0xff) break;
    const marker = jpeg[i + 1]!;
    if (marker === 0xda || marker === 0xd9) break;
    const length = jpeg.readUInt16BE(i + 2);
    // A DQT segment holds one or more tables: a precision/id byte, then 64 values (8- or 16-bit).
    for (let t = i + 4; marker === 0xdb && t < i + 2 + length; ) {
      const size = jpeg[t]! >> 4 ? 128 : 64;
      tables.push(jpeg.toString('hex', t + 1, t + 1 + size));
      t += 1 + size;
    }
    i += 2 + length;
  }
  return tables;
}

/** True when every quantisation table of `jpeg` is one of the file's: the data was not re-encoded. */
function fromStorage(jpeg: Buffer, stored: string[]): boolean {
  const tables = quantTables(jpeg);
  return tables.length > 0 && tables.every((t) => stored.includes(t));
}

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  return port;
}

// 1000×700 at 256-pixel tiles: the last column is 232 wide, the last row 188 high.
const WIDTH = 1000;
const HEIGHT = 700;

describe('edge tiles of a pyramidal TIFF', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let server: RunningServer;
  let source: OpenedSource;
  let storedTables: string[];

  before(async () => {
    ({ dir, cleanup } = await tempDir());
    // Quality 95 in the file, so a re-encoded response (quality 80) is told apart from a stored tile.
    await sharp(REFERENCE_PNG)
      .removeAlpha()
      .resize(WIDTH, HEIGHT, { fit: 'fill' })
      .tiff({ tile: true, tileWidth: 256, tileHeight: 256, pyramid: true, compression: 'jpeg', quality: 95 })
      .toFile(path.join(dir, 'page.tif'));
    server = await startServer(dir);
    source = await openSource(path.join(dir, 'page.tif'));
    const interior = findStoredTile(source, resolveRequest(parseImageRequest(3, '0,0,256,256', '256,256', '0', 'default.jpg'), source.info, {}));
    assert.ok(interior, 'an interior tile is stored');
    storedTables = quantTables((await readStoredTile(source, interior, undefined))!);
    assert.ok(storedTables.length > 0);
  });
  after(async () => {
    await source.close();
    await server.close();
    await cleanup();
  });

  it('has the native addon built where libjpeg-turbo is installed (CI installs it)', () => {
    const { binding, reason } = nativeAddon();
    assert.ok(binding, `native addon: ${reason}`);
  });

  const edges = [
    { region: '768,0,232,256', size: '232,256', what: 'right edge' },
    { region: '0,512,256,188', size: '256,188', what: 'bottom edge' },
    { region: '768,512,232,188', size: '232,188', what: 'bottom-right corner' },
    { region: '512,0,488,512', size: '244,256', what: 'right edge of the half-size level' },
  ];
  for (const edge of edges) {
    it(`sends the stored ${edge.what} tile cropped losslessly, with the pixels of the rendered region`, async () => {
      const [w, h] = edge.size.split(',').map(Number) as [number, number];
      const { body, response } = await fetchBytes(`${server.url}/iiif/3/page.tif/${edge.region}/${edge.size}/0/default.jpg`);
      assert.equal(response.headers.get('content-type'), 'image/jpeg');
      const meta = await sharp(body).metadata();
      assert.deepEqual([meta.width, meta.height], [w, h]);
      // Same quantisation as the file: the stored data was cropped, not decoded and re-encoded.
      assert.ok(fromStorage(body, storedTables), 'quantisation tables are the stored ones');
      const { body: png } = await fetchBytes(`${server.url}/iiif/3/page.tif/${edge.region}/${edge.size}/0/default.png`);
      assertSimilar(await decode(body, 3), await decode(png, 3), 0.5, edge.what);
    });
  }

  it('v2.1 tile URLs (w, sizes) take the same path', async () => {
    const { body } = await fetchBytes(`${server.url}/iiif/2/page.tif/768,512,232,188/232,/0/default.jpg`);
    assert.ok(fromStorage(body, storedTables));
  });

  it('does not take a request that only looks like a tile (wrong size) from storage', async () => {
    const { body } = await fetchBytes(`${server.url}/iiif/3/page.tif/768,0,232,256/116,128/0/default.jpg`);
    assert.ok(!fromStorage(body, storedTables), 're-encoded');
    const meta = await sharp(body).metadata();
    assert.deepEqual([meta.width, meta.height], [116, 128]);
  });

  it('without the addon, an edge tile is left to the renderer and an interior tile still passes through', async () => {
    const edge = findStoredTile(source, resolveRequest(parseImageRequest(3, '768,0,232,256', '232,256', '0', 'default.jpg'), source.info, {}));
    assert.ok(edge?.crop, 'the edge tile is found, with a crop');
    assert.equal(await readStoredTile(source, edge, undefined), undefined);
    const interior = findStoredTile(source, resolveRequest(parseImageRequest(3, '256,256,256,256', '256,256', '0', 'default.jpg'), source.info, {}));
    assert.ok(interior && !interior.crop);
    assert.ok(await readStoredTile(source, interior, undefined));
  });

  it('a server started with VITRINE_NATIVE=off serves edge tiles re-encoded, with the same pixels', async () => {
    const port = await freePort();
    const cli = path.resolve(import.meta.dirname, '../../dist/cli/index.js');
    const child = spawn(process.execPath, [cli, 'serve', '--images', dir, '--port', String(port), '--log-level', 'info'], {
      env: { ...process.env, VITRINE_NATIVE: 'off' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let log = '';
    child.stdout.on('data', (chunk: Buffer) => (log += chunk.toString()));
    try {
      const base = `http://127.0.0.1:${port}`;
      for (let i = 0; i < 100 && !(await fetch(`${base}/health`).then((r) => r.ok, () => false)); i++) {
        await new Promise((r) => setTimeout(r, 100));
      }
      // The log line and /health race through different pipes: give the line a moment under load.
      for (let i = 0; i < 50 && !/native addon.*switched off by VITRINE_NATIVE=off/.test(log); i++) await new Promise((r) => setTimeout(r, 100));
      assert.match(log, /native addon.*switched off by VITRINE_NATIVE=off/);
      const { body } = await fetchBytes(`${base}/iiif/3/page.tif/768,0,232,256/232,256/0/default.jpg`);
      assert.ok(!fromStorage(body, storedTables), 're-encoded at the server quality');
      const { body: png } = await fetchBytes(`${server.url}/iiif/3/page.tif/768,0,232,256/232,256/0/default.png`);
      assertSimilar(await decode(body, 3), await decode(png, 3), 3, 'fallback edge tile');
    } finally {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
  });
});
