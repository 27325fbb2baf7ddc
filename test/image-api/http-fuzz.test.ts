import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { rawGet } from '../helpers/iiif.js';
import { REFERENCE_PNG, startServer, tempDir, type RunningServer } from '../helpers/server.js';

const IMAGE = { width: 64, height: 48 };
const ANSWER_WITHIN_MS = 20_000;

describe('Image API over HTTP under hostile requests', () => {
  let server: RunningServer;
  let cleanup: () => Promise<void>;

  before(async () => {
    const tmp = await tempDir();
    cleanup = tmp.cleanup;
    await sharp(REFERENCE_PNG).resize(IMAGE.width, IMAGE.height, { fit: 'fill' }).png().toFile(path.join(tmp.dir, 'small.png'));
    server = await startServer(tmp.dir);
  });
  after(async () => {
    await server.close();
    await cleanup();
  });

  // Regression found by the first property: Fastify refused these before routing with a message quoting the whole URL.
  it('names the malformed percent-encoded segment, not just the URL', async () => {
    for (const [url, bad] of [
      ['/iiif/3/small/%/max/0/default.jpg', '%'],
      ['/iiif/2/small/full/%zz/0/default.jpg', '%zz'],
      ['/iiif/3/small/full/max/%ED%A0%80/default.jpg', '%ED%A0%80'],
    ] as const) {
      const got = await rawGet(server.url, url, ANSWER_WITHIN_MS);
      assert.equal(got.status, 400, url);
      assert.ok(got.body.toString().startsWith(`400 '${bad}': malformed percent-encoding`), `${url}: ${got.body.toString()}`);
    }
  });
});
