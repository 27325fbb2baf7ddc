import assert from 'node:assert/strict';
import { copyFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { REFERENCE_PNG, startServer, tempDir, type RunningServer } from '../helpers/server.js';

describe('server smoke test', () => {
  let server: RunningServer;
  let cleanup: () => Promise<void>;

  before(async () => {
    const tmp = await tempDir();
    cleanup = tmp.cleanup;
    await copyFile(REFERENCE_PNG, path.join(tmp.dir, 'ref.png'));
    server = await startServer(tmp.dir);
  });
  after(async () => {
    await server.close();
    await cleanup();
  });

  it('answers /health with ok and the version', async () => {
    const res = await fetch(`${server.url}/health`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as { status: string; version: string };
    assert.equal(body.status, 'ok');
    assert.match(body.version, /^\d+\.\d+\.\d+/);
  });

  it('serves info.json and an image whose pixels match the source', async () => {
    const info = (await (await fetch(`${server.url}/iiif/3/ref.png/info.json`)).json()) as { width: number; id: string };
    assert.equal(info.width, 1000);
    assert.equal(info.id, `${server.url}/iiif/3/ref.png`);
    const res = await fetch(`${server.url}/iiif/3/ref/0,0,100,100/max/0/default.png`);
    assert.equal(res.status, 200);
    const got = await sharp(Buffer.from(await res.arrayBuffer())).removeAlpha().raw().toBuffer();
    const want = await sharp(REFERENCE_PNG).extract({ left: 0, top: 0, width: 100, height: 100 }).removeAlpha().raw().toBuffer();
    assert.deepEqual(got, want);
  });
});
