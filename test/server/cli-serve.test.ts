import assert from 'node:assert/strict';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { serveCli, vitrine, type CliServer } from '../helpers/cli.js';
import { expectError, getImage, httpsGet, reference, selfSignedCertificate } from '../helpers/iiif.js';
import { assertSimilar, decode } from '../helpers/pixels.js';
import { REFERENCE_PNG, tempDir } from '../helpers/server.js';

/**
 * `vitrine serve` as users start it: the built CLI in a process of its own, its settings from a
 * config file, the environment and flags, answered over real HTTP(S). The reference image is
 * 1000×1000.
 */

interface Info {
  id: string;
  width: number;
  maxWidth?: number;
  maxHeight?: number;
  maxArea?: number;
}

async function info(url: string, headers: Record<string, string> = {}): Promise<{ body: Info; cacheControl: string | null }> {
  const response = await fetch(`${url}/iiif/3/ref/info.json`, { headers });
  assert.equal(response.status, 200);
  return { body: (await response.json()) as Info, cacheControl: response.headers.get('cache-control') };
}

/** Runs `test` against a server started with `args` and `env`, stopping it afterwards. */
async function withServer(args: string[], env: Record<string, string>, test: (server: CliServer) => Promise<void>): Promise<void> {
  const server = await serveCli(['--port', '0', ...args], env);
  try {
    await test(server);
  } finally {
    await server.stop();
  }
}

describe('vitrine serve through the CLI', () => {
  let dir: string;
  let images: string;
  let cleanup: () => Promise<void>;

  before(async () => {
    ({ dir, cleanup } = await tempDir('vitrine-cli-'));
    images = path.join(dir, 'images');
    await mkdir(images);
    await copyFile(REFERENCE_PNG, path.join(images, 'ref.png'));
  });
  after(async () => cleanup());

  describe('configuration: file < environment (VITRINE_*) < flags', () => {
    let config: string;

    before(async () => {
      // Paths in the file are relative to the file: images/ next to it, whatever the working directory.
      config = path.join(dir, 'vitrine.yml');
      await writeFile(config, 'images: images\nmaxWidth: 600\nmaxArea: 300000\ncacheControl: public, max-age=1\n');
    });

    it('each setting comes from the highest of the three that gives it', async () => {
      const env = { VITRINE_MAX_AREA: '200000', VITRINE_CACHE_CONTROL: 'public, max-age=2' };
      await withServer(['--config', config, '--cache-control', 'public, max-age=3'], env, async ({ url }) => {
        const { body, cacheControl } = await info(url);
        assert.equal(body.maxWidth, 600, 'from the file alone');
        assert.equal(body.maxArea, 200_000, 'the environment over the file');
        assert.equal(cacheControl, 'public, max-age=3', 'the flag over the environment and the file');
        // The limits are enforced as advertised: 600 wide is allowed by maxWidth but not by maxArea.
        await expectError(`${url}/iiif/3/ref/full/600,/0/default.jpg`, 400, 'maxArea 200000');
      });
    });

    it('without the flag the environment wins, without both the file', async () => {
      await withServer(['--config', config], { VITRINE_CACHE_CONTROL: 'public, max-age=2' }, async ({ url }) => {
        const { body, cacheControl } = await info(url);
        assert.equal(body.maxArea, 300_000);
        assert.equal(cacheControl, 'public, max-age=2');
      });
      await withServer(['--config', config], {}, async ({ url }) => {
        assert.equal((await info(url)).cacheControl, 'public, max-age=1');
      });
    });

    it('a bad value names its setting, whichever source gave it: exit 2, one line', async () => {
      await writeFile(path.join(dir, 'bad.yml'), 'images: images\nmaxWidth: -5\n');
      const fromFile = await vitrine('serve', '--config', path.join(dir, 'bad.yml'), '--port', '0');
      assert.equal(fromFile.code, 2, fromFile.stderr);
      assert.match(fromFile.stderr.trim(), /^vitrine: invalid configuration: maxWidth: [^\n]+$/);
      const fromFlag = await vitrine('serve', '--images', images, '--max-width', 'wide');
      assert.equal(fromFlag.code, 2, fromFlag.stderr);
      assert.match(fromFlag.stderr.trim(), /^error: option '--max-width <px>' argument 'wide' is invalid\. 'wide' is not a whole number$/);
      const unknown = await vitrine('serve', '--images', images, '--max-widht', '5');
      assert.equal(unknown.code, 2, unknown.stderr);
      assert.match(unknown.stderr, /unknown option '--max-widht'/);
    });
  });

  it('--max-width: advertised in info.json (maxHeight defaults to it) and enforced', async () => {
    await withServer(['--images', images, '--max-width', '300'], {}, async ({ url }) => {
      const { body } = await info(url);
      assert.equal(body.maxWidth, 300);
      assert.equal(body.maxHeight ?? body.maxWidth, 300);
      const { pixels } = await getImage(`${url}/iiif/3/ref/full/max/0/default.png`, 'image/png');
      assert.deepEqual([pixels.width, pixels.height], [300, 300], 'max is the largest size allowed');
      assertSimilar(pixels, await reference((image) => image.resize(300, 300)), 2, 'max at 300 px');
      await expectError(`${url}/iiif/3/ref/full/301,/0/default.jpg`, 400, 'maxWidth 300');
      await expectError(`${url}/iiif/2/ref/full/full/0/default.jpg`, 400, 'maxWidth 300');
    });
  });

  it('--trust-proxy: X-Forwarded-Proto and -Host make the ids only when it is given', async () => {
    const forwarded = { 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'iiif.example.net' };
    await withServer(['--images', images, '--trust-proxy'], {}, async ({ url }) => {
      assert.equal((await info(url, forwarded)).body.id, 'https://iiif.example.net/iiif/3/ref');
      assert.equal((await info(url)).body.id, `${url}/iiif/3/ref`, 'a request not from the proxy keeps the direct address');
    });
    await withServer(['--images', images], {}, async ({ url }) => {
      assert.equal((await info(url, forwarded)).body.id, `${url}/iiif/3/ref`, 'without --trust-proxy the headers are ignored');
    });
  });

  describe('--tls-key and --tls-cert', () => {
    let key: string;
    let cert: string;

    before(async () => {
      ({ key, cert } = await selfSignedCertificate(dir));
    });

    it('serve HTTPS: info.json ids in https, images decoded with the right pixels', async () => {
      await withServer(['--images', images, '--tls-key', key, '--tls-cert', cert], {}, async ({ url }) => {
        assert.match(url, /^https:\/\/127\.0\.0\.1:\d+$/);
        const ca = await readFile(cert);
        const got = await httpsGet(`${url}/iiif/3/ref/info.json`, ca);
        assert.equal(got.status, 200);
        assert.equal((JSON.parse(got.body.toString()) as Info).id, `${url}/iiif/3/ref`);
        const tile = await httpsGet(`${url}/iiif/3/ref/0,0,200,200/max/0/default.png`, ca);
        assert.equal(tile.contentType, 'image/png');
        assertSimilar(await decode(tile.body), await reference((image) => image.extract({ left: 0, top: 0, width: 200, height: 200 })), 0, 'over TLS');
        await assert.rejects(httpsGet(`${url}/iiif/3/ref/info.json`, Buffer.alloc(0)), /self[- ]signed|unable to verify|certificate/i, 'a client that does not trust the certificate is refused');
      });
    });

    it('one without the other: exit 2 with one line naming both', async () => {
      const result = await vitrine('serve', '--images', images, '--tls-key', key);
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr.trim(), /^vitrine: invalid configuration: tlsKey and tlsCert: give both for HTTPS, or neither$/);
    });

    it('an unreadable key: exit non-zero with the file named', async () => {
      const result = await vitrine('serve', '--images', images, '--tls-key', path.join(dir, 'nope.pem'), '--tls-cert', cert, '--port', '0');
      assert.notEqual(result.code, 0);
      assert.match(result.stderr, /nope\.pem/);
    });
  });
});
