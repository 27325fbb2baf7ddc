import assert from 'node:assert/strict';
import { copyFile, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { expectError, get, getImage, rawGet, reference } from '../helpers/iiif.js';
import { assertSimilar } from '../helpers/pixels.js';
import { REFERENCE_PNG, startServer, tempDir, type RunningServer } from '../helpers/server.js';

/**
 * What a hostile or unlucky request cannot do: read files outside the images folder (by `..`,
 * encodings, absolute paths, backslashes or symbolic links), take the server down with a corrupt
 * file, or make it produce or decode images beyond its limits.
 */

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47]);

describe('safety', () => {
  let server: RunningServer;
  let cleanup: () => Promise<void>;
  let root: string;
  let images: string;
  let secret: Buffer;

  before(async () => {
    const tmp = await tempDir();
    cleanup = tmp.cleanup;
    root = tmp.dir;
    images = path.join(root, 'images');
    await mkdir(path.join(images, 'sub'), { recursive: true });
    await mkdir(path.join(root, 'private'));
    // Real images outside the folder: a successful traversal would serve them with a 200.
    await sharp(REFERENCE_PNG).extract({ left: 0, top: 0, width: 64, height: 64 }).png().toFile(path.join(root, 'secret.png'));
    await copyFile(path.join(root, 'secret.png'), path.join(root, 'private/hidden.png'));
    secret = await readFile(path.join(root, 'secret.png'));
    await copyFile(REFERENCE_PNG, path.join(images, 'ref.png'));
    await copyFile(REFERENCE_PNG, path.join(images, 'sub/ok.png'));
    await symlink(path.join(root, 'secret.png'), path.join(images, 'link-out.png'));
    await symlink('../secret.png', path.join(images, 'relative-out.png'));
    await symlink(path.join(images, 'link-out.png'), path.join(images, 'chain.png'));
    await symlink(path.join(root, 'private'), path.join(images, 'dir-out'));
    await symlink('/etc/passwd', path.join(images, 'passwd.png'));
    await symlink(path.join(images, 'ref.png'), path.join(images, 'link-in.png'));
    await writeFile(path.join(images, 'text.png'), 'this is a text file with a .png name\n');
    await writeFile(path.join(images, 'empty.png'), Buffer.alloc(0));
    const png = await readFile(REFERENCE_PNG);
    await writeFile(path.join(images, 'truncated.png'), png.subarray(0, Math.floor(png.length / 3)));
    await writeFile(path.join(images, 'garbage.jpg'), Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(2000, 0x41)]));
    server = await startServer(images);
  });
  after(async () => {
    await server.close();
    await cleanup();
  });

  /** Asserts a response is a refusal and carries none of the secret file. */
  function refused(what: string, status: number, body: Buffer, contentType: string, allowed: readonly number[]): void {
    assert.ok(allowed.includes(status), `${what} → ${status} ${body.toString('utf8', 0, 200)}`);
    assert.ok(!contentType.startsWith('image/'), `${what}: not an image`);
    assert.ok(!body.subarray(0, 4).equals(PNG_SIGNATURE) && !body.includes(secret.subarray(0, 64)), `${what}: no file content`);
  }

  describe('path traversal', () => {
    // (A bare `..` or `%2e%2e` segment is resolved by fetch itself; those are sent raw below.)
    const encoded: Array<[string, number]> = [
      ['..%2Fsecret.png', 400],
      ['..%2Fsecret', 400],
      ['%2e%2e%2Fsecret.png', 400],
      ['%2E%2E%2fsecret.png', 400],
      ['sub%2F..%2F..%2Fsecret.png', 400],
      ['sub%2F..%2Fref.png', 400],
      ['.%2F..%2Fsecret.png', 400],
      ['..%2Fprivate%2Fhidden.png', 400],
      ['..%2F..%2F..%2F..%2F..%2F..%2Fetc%2Fpasswd', 400],
      ['..%5Csecret.png', 400],
      ['sub%5C..%5C..%5Csecret.png', 400],
      ['%00', 400],
      ['ref.png%00.jpg', 400],
    ];
    for (const [id, status] of encoded) {
      it(`refuses the identifier ${id} (${status}) in both versions, for info.json and images`, async () => {
        for (const version of [3, 2] as const) {
          for (const tail of ['info.json', 'full/max/0/default.png']) {
            const got = await get(`${server.url}/iiif/${version}/${id}/${tail}`);
            refused(`${version} ${id}/${tail}`, got.status, got.body, got.headers.get('content-type') ?? '', [status]);
            assert.match(got.text, /identifier/);
          }
        }
      });
    }

    it('refuses absolute paths, encoded, to files that exist', async () => {
      for (const file of [path.join(root, 'secret.png'), path.join(images, 'ref.png'), '/etc/passwd']) {
        const got = await get(`${server.url}/iiif/3/${encodeURIComponent(file)}/info.json`);
        refused(file, got.status, got.body, got.headers.get('content-type') ?? '', [400]);
      }
    });

    it('double encoding is not decoded twice', async () => {
      const got = await get(`${server.url}/iiif/3/%252e%252e%252Fsecret.png/info.json`);
      refused('double-encoded', got.status, got.body, got.headers.get('content-type') ?? '', [404]);
    });

    it('unencoded .. and \\ sent raw (not normalised by a client) are refused', async () => {
      for (const raw of [
        '/iiif/3/../secret.png/info.json',
        '/iiif/3/../../secret.png/info.json',
        '/iiif/3/../images/../secret.png/full/max/0/default.png',
        '/iiif/2/../secret.png/full/full/0/default.png',
        '/iiif/3/ref.png/../../secret.png',
        '/iiif/3/..\\secret.png/info.json',
        '/iiif/3/sub\\..\\..\\secret.png/info.json',
        '/iiif/%2e%2e/%2e%2e/secret.png',
        '/iiif/3/%2e%2e/secret.png/full/max/0/default.png',
        '/../secret.png',
      ]) {
        const got = await rawGet(server.url, raw);
        refused(raw, got.status, got.body, got.contentType, [400, 403, 404]);
      }
    });
  });

  describe('symbolic links', () => {
    it('a link inside the folder pointing outside is 403, whichever way it is written', async () => {
      for (const id of ['link-out', 'link-out.png', 'relative-out.png', 'chain', 'passwd.png', 'dir-out%2Fhidden', 'dir-out%2Fhidden.png']) {
        for (const tail of ['info.json', 'full/max/0/default.png']) {
          const got = await get(`${server.url}/iiif/3/${id}/${tail}`);
          refused(`${id}/${tail}`, got.status, got.body, got.headers.get('content-type') ?? '', [403]);
          assert.match(got.text, /outside the images folder/);
        }
      }
    });

    it('a link that stays inside the folder is served', async () => {
      const { pixels } = await getImage(`${server.url}/iiif/3/link-in/0,0,50,50/max/0/default.png`, 'image/png');
      assertSimilar(pixels, await reference((i) => i.extract({ left: 0, top: 0, width: 50, height: 50 })), 0, 'link-in');
      const sub = await getImage(`${server.url}/iiif/3/sub%2Fok/0,0,50,50/max/0/default.png`, 'image/png');
      assertSimilar(sub.pixels, pixels, 0, 'sub/ok');
    });
  });

  describe('broken files', () => {
    const good = async () => {
      const { pixels } = await getImage(`${server.url}/iiif/3/ref/10,10,40,30/max/0/default.png`, 'image/png');
      assertSimilar(pixels, await reference((i) => i.extract({ left: 10, top: 10, width: 40, height: 30 })), 0, 'next request');
    };

    for (const [id, what] of [
      ['text.png', 'a .png that is text'],
      ['empty.png', 'an empty file'],
      ['truncated.png', 'a truncated PNG'],
      ['garbage.jpg', 'a JPEG header followed by garbage'],
    ] as const) {
      it(`${what}: an error response naming the problem, and the server keeps serving`, async () => {
        for (const version of [3, 2] as const) {
          // The last region lies in the part a truncated file has lost.
          for (const tail of ['info.json', 'full/max/0/default.jpg', '0,900,10,10/max/0/default.png']) {
            const got = await get(`${server.url}/iiif/${version}/${id}/${tail}`);
            if (got.status === 200) {
              // A header that is readable may still give an info.json; images cannot be made.
              assert.equal(tail, 'info.json', `${id}/${tail} was served`);
              continue;
            }
            assert.ok(got.status === 500 || got.status === 501, `${id}/${tail} → ${got.status} ${got.text}`);
            assert.match(got.headers.get('content-type') ?? '', /^text\/plain/);
            assert.match(got.text, /^50[01] .*(image|decode|read|format)/i, got.text);
            assert.ok(!/\n\s+at /.test(got.text), 'no stack trace');
          }
        }
        await good();
      });
    }

    it('a burst of broken and good requests at once: every good one succeeds', async () => {
      const urls = Array.from({ length: 12 }, (_, i) =>
        i % 2 === 0 ? `${server.url}/iiif/3/${['text.png', 'truncated.png', 'garbage.jpg'][i % 3]}/full/max/0/default.jpg` : `${server.url}/iiif/3/ref/full/50,/0/default.jpg`,
      );
      const results = await Promise.all(urls.map((url) => get(url)));
      results.forEach((got, i) => {
        if (i % 2 === 1) assert.equal(got.status, 200, urls[i]);
        else assert.ok(got.status >= 500, `${urls[i]} → ${got.status}`);
      });
      assert.equal((await get(`${server.url}/health`)).status, 200);
    });
  });

  describe('malformed requests', () => {
    it('bad percent-encoding is a plain-text 400 that still carries the CORS header', async () => {
      for (const url of ['/iiif/3/ref%ZZ/info.json', '/iiif/3/ref/full/max/0/default.jpg%', '/iiif/2/%E0%A4%A/info.json']) {
        const got = await get(`${server.url}${url}`);
        assert.equal(got.status, 400, url);
        assert.match(got.headers.get('content-type') ?? '', /^text\/plain/, url);
        assert.match(got.text, /^400 /, url);
        assert.equal(got.headers.get('access-control-allow-origin'), '*', url);
      }
    });

    it('a missing identifier or a path of the wrong shape is a 404 that explains the URL form', async () => {
      await expectError(`${server.url}/iiif/3/`, 404);
      await expectError(`${server.url}/iiif/3//info.json`, 404);
      await expectError(`${server.url}/iiif/3/ref/full/max/0`, 404, '{identifier}/{region}/{size}/{rotation}/{quality}.{format}');
      await expectError(`${server.url}/iiif/3/ref/full/max/0/default.jpg/more`, 404, '%2F');
      await expectError(`${server.url}/iiif/4/ref/info.json`, 404);
    });

    it('numbers too large to be pixels are 400s, not crashes', async () => {
      await expectError(`${server.url}/iiif/3/ref/0,0,99999999999999999999,1/max/0/default.jpg`, 400, 'too large');
      await expectError(`${server.url}/iiif/3/ref/full/^99999999999999999999,/0/default.jpg`, 400, 'too large');
      await expectError(`${server.url}/iiif/3/ref/full/max/999999999999999999999999/default.jpg`, 400, 'rotation');
      const big = await getImage(`${server.url}/iiif/3/ref/900,900,99999999,99999999/max/0/default.png`, 'image/png');
      assert.deepEqual([big.pixels.width, big.pixels.height], [100, 100], 'clipped to the image');
    });
  });

  describe('size limits', () => {
    it('an output over maxArea is refused with a 400 before any pixel is made', async () => {
      const started = Date.now();
      await expectError(`${server.url}/iiif/3/ref/full/^10000,10000/0/default.jpg`, 400, 'maxArea 25000000');
      await expectError(`${server.url}/iiif/3/ref/full/^pct:1000/0/default.jpg`, 400, 'maxArea 25000000');
      await expectError(`${server.url}/iiif/2/ref/full/10000,10000/0/default.jpg`, 400, 'maxArea 25000000');
      await expectError(`${server.url}/iiif/2/ref/0,0,1,1/5001,5000/0/default.jpg`, 400, 'maxArea 25000000');
      assert.ok(Date.now() - started < 2000, 'refused without rendering');
    });

    it('an untiled image over maxInputPixels is not decoded (403), though its info.json is served', async () => {
      const small = await startServer(images, { maxInputPixels: 500_000 });
      try {
        const info = await get(`${small.url}/iiif/3/ref/info.json`);
        assert.equal(info.status, 200);
        for (const url of ['/iiif/3/ref/full/max/0/default.jpg', '/iiif/3/ref/0,0,10,10/max/0/default.jpg', '/iiif/2/ref/full/100,/0/default.jpg']) {
          await expectError(`${small.url}${url}`, 403, 'maxInputPixels');
        }
      } finally {
        await small.close();
      }
    });
  });
});
