import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import sharp from 'sharp';
import { IiifError } from '../../src/image-api/errors.js';
import { parseImageRequest } from '../../src/image-api/grammar.js';
import type { ApiVersion, SizeLimits } from '../../src/image-api/request.js';
import { resolveRequest } from '../../src/image-api/resolve.js';
import { rawGet } from '../helpers/iiif.js';
import { SEED, hostileSegment, runs, safeDecode, validSegments } from '../helpers/image-request-arbitraries.js';
import { REFERENCE_PNG, startServer, tempDir, type RunningServer } from '../helpers/server.js';

/**
 * Hostile requests through real HTTP against a running server: no answer is ever a 5xx, every 4xx
 * is plain text naming what is wrong, and every request is answered. A small image and a small
 * maxArea keep the valid ones cheap, so the bounded number of runs stays well under a minute.
 * Fixed seed; see test/helpers/image-request-arbitraries.ts to run with another (FC_SEED, FC_RUNS).
 */

const IMAGE = { width: 64, height: 48 };
const LIMITS: SizeLimits = { maxArea: 200_000 };
/** Generous: the valid requests render a few thousand pixels; this only catches a request left hanging. */
const ANSWER_WITHIN_MS = 20_000;
const SEGMENT_NAMES = [['region', 'size'], ['size'], ['rotation'], ['quality', 'format']] as const;

type Segments = [string, string, string, string];

function canonicalOf(headers: IncomingHttpHeaders): string {
  const link = /<([^>]+)>;rel="canonical"/.exec(String(headers.link ?? ''));
  assert.ok(link, `no canonical Link in '${String(headers.link)}'`);
  return link[1]!;
}

/** True when the four segments resolve against the test image (the baseline each case alters one segment of). */
function resolves(version: ApiVersion, segments: Segments): boolean {
  try {
    resolveRequest(parseImageRequest(version, ...segments), IMAGE, LIMITS);
    return true;
  } catch (error) {
    if (error instanceof IiifError) return false;
    throw error;
  }
}

/** What every answer must be: not a server error, and an error the client can read. */
function assertWellAnswered(url: string, got: { status: number; contentType: string; body: Buffer }): string {
  const text = got.body.toString('utf8');
  assert.ok(got.status < 500, `${url} → ${got.status} ${text.slice(0, 300)}`);
  if (got.status >= 400) {
    assert.match(got.contentType, /^text\/plain/, `${url} → ${got.status} as ${got.contentType}`);
    assert.ok(text.startsWith(`${got.status} `) && text.trim().length > 4, `${url} → ${got.status} with body '${text}'`);
  }
  return text;
}

describe('Image API over HTTP under hostile requests', () => {
  let server: RunningServer;
  let cleanup: () => Promise<void>;

  before(async () => {
    const tmp = await tempDir();
    cleanup = tmp.cleanup;
    await sharp(REFERENCE_PNG).resize(IMAGE.width, IMAGE.height, { fit: 'fill' }).png().toFile(path.join(tmp.dir, 'small.png'));
    server = await startServer(tmp.dir, LIMITS);
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

  // Node refuses a request line over its size limit before Fastify routes it; Fastify's default answered in JSON.
  it('answers a URL too long to read with a plain-text 431 that says the URL is too long', async () => {
    const url = `/iiif/3/small/${'9'.repeat(20_000)}/max/0/default.jpg`;
    const got = await rawGet(server.url, url, ANSWER_WITHIN_MS);
    assert.equal(got.status, 431);
    assert.match(got.contentType, /^text\/plain/);
    assert.match(got.body.toString(), /^431 the URL or a header is too long/);
  });

  for (const version of [3, 2] as const) {
    it(`${version === 3 ? '3.0' : '2.1'}: a hostile segment among valid ones is a 200 or a 4xx that names that segment`, async () => {
      await fc.assert(
        fc.asyncProperty(validSegments(version, IMAGE), fc.nat(3), hostileSegment, async (valid, index, hostile) => {
          fc.pre(resolves(version, valid));
          const segments = valid.map((s) => encodeURIComponent(s)) as Segments;
          segments[index] = hostile;
          const url = `/iiif/${version}/small/${segments.join('/')}`;
          const got = await rawGet(server.url, url, ANSWER_WITHIN_MS);
          const text = assertWellAnswered(url, got);
          // A message quotes what was sent, not what a number became (Infinity, NaN).
          if (!/infinity|nan/i.test(safeDecode(hostile))) assert.doesNotMatch(text, /Infinity|NaN/, url);
          if (got.status === 200) assert.match(got.contentType, /^image\//, url);
          else if (text.includes('percent-encoding')) assert.ok(text.includes(`'${hostile}'`), `${url}: '${text.trim()}' does not quote ${hostile}`);
          else {
            const names = SEGMENT_NAMES[index]!;
            assert.ok(names.some((name) => text.startsWith(`${got.status} ${name}`)), `${url}: '${text.trim()}' does not name the ${names[0]}`);
          }
        }),
        { seed: SEED, numRuns: runs(400) },
      );
    });

    it(`${version === 3 ? '3.0' : '2.1'}: a valid request renders, or is a 400 naming the region or size it cannot make; its canonical URL serves the same image`, async () => {
      await fc.assert(
        fc.asyncProperty(validSegments(version, IMAGE), async (segments) => {
          const url = `/iiif/${version}/small/${segments.map(encodeURIComponent).join('/')}`;
          const got = await rawGet(server.url, url, ANSWER_WITHIN_MS);
          const text = assertWellAnswered(url, got);
          // Grammar and resolution are the properties of grammar-properties.test.ts; here only what HTTP adds.
          if (got.status !== 200) {
            assert.equal(resolves(version, segments), false, `${url} → ${got.status} ${text}`);
            assert.match(text, /^400 (region|size|rotation) /, url);
            return;
          }
          assert.match(got.contentType, /^image\//, url);
          const canonical = canonicalOf(got.headers);
          const again = await rawGet(server.url, new URL(canonical).pathname, ANSWER_WITHIN_MS);
          assert.equal(again.status, 200, `${canonical} (canonical of ${url}) → ${again.status} ${again.body.toString().slice(0, 200)}`);
          assert.equal(canonicalOf(again.headers), canonical, `canonical of ${url}`);
          assert.ok(again.body.equals(got.body), `${canonical} serves other bytes than ${url}`);
        }),
        { seed: SEED, numRuns: runs(150) },
      );
    });

    it(`${version === 3 ? '3.0' : '2.1'}: any path under the prefix is answered, never with a 5xx`, async () => {
      const identifier = fc.oneof(fc.constant('small'), fc.constant('missing'), hostileSegment);
      const anySegment = fc.oneof(hostileSegment, fc.constantFrom('full', 'max', '0', 'default.jpg', 'info.json', '', '..', '.'));
      await fc.assert(
        fc.asyncProperty(identifier, fc.array(anySegment, { maxLength: 7 }), fc.constantFrom('', '?', '?a=%zz', '#x', '//'), async (id, rest, tail) => {
          const url = `/iiif/${version}/${[id, ...rest].join('/')}${tail}`;
          assertWellAnswered(url, await rawGet(server.url, url, ANSWER_WITHIN_MS));
        }),
        { seed: SEED, numRuns: runs(300) },
      );
    });
  }
});
