import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { canonicalPath } from '../../src/image-api/canonical.js';
import { IiifError } from '../../src/image-api/errors.js';
import { parseImageRequest } from '../../src/image-api/grammar.js';
import type { ApiVersion, Dimensions, ImageRequest, SizeLimits } from '../../src/image-api/request.js';
import { resolveRequest } from '../../src/image-api/resolve.js';
import { SEED, hostileSegment, imageSize, runs, safeDecode, sizeLimits, validSegments } from '../helpers/image-request-arbitraries.js';

/**
 * Properties of the Image API grammar and canonical forms, 3.0 and 2.1, over generated requests
 * resolved against generated image sizes and server limits. Fixed seed (see
 * test/helpers/image-request-arbitraries.ts for running with another one).
 */

type Segments = [string, string, string, string];

interface Case {
  readonly image: Dimensions;
  readonly limits: SizeLimits;
  readonly segments: Segments;
}

const caseFor = (version: ApiVersion): fc.Arbitrary<Case> =>
  fc.tuple(imageSize, sizeLimits).chain(([image, limits]) => validSegments(version, image).map((segments) => ({ image, limits, segments })));

/** The resolved request, or undefined when the server answers 400 (any other error fails the property). */
function tryResolve(version: ApiVersion, { image, limits, segments }: Case): ImageRequest | undefined {
  try {
    return resolveRequest(parseImageRequest(version, ...segments), image, limits);
  } catch (error) {
    if (error instanceof IiifError && error.status === 400) return undefined;
    throw error;
  }
}

const same = (a: Dimensions, b: Dimensions): boolean => a.width === b.width && a.height === b.height;

const options = (fallback: number) => ({ seed: SEED, numRuns: runs(fallback) });

for (const version of [3, 2] as const) {
  describe(`Image API ${version === 3 ? '3.0' : '2.1'} grammar properties`, () => {
    it('the canonical form is a fixed point: parsed and resolved again it gives the same request and the same path', () => {
      let resolved = 0;
      fc.assert(
        fc.property(caseFor(version), (c) => {
          const first = tryResolve(version, c);
          if (!first) return;
          resolved++;
          const canonical = canonicalPath(first, c.image, c.limits, version);
          const again = tryResolve(version, { ...c, segments: canonical.split('/') as Segments });
          assert.deepEqual(again, first, `canonical ${canonical} of ${c.segments.join('/')}`);
          assert.equal(canonicalPath(again, c.image, c.limits, version), canonical);
        }),
        options(3000),
      );
      // The generators are shaped so that most requests are valid; a property over nothing proves nothing.
      assert.ok(resolved > runs(3000) / 3, `only ${resolved} requests resolved`);
    });

    it('the canonical form follows the spec rules for each segment', () => {
      fc.assert(
        fc.property(caseFor(version), (c) => {
          const request = tryResolve(version, c);
          if (!request) return;
          const [region, size, rotation, qualityFormat] = canonicalPath(request, c.image, c.limits, version).split('/') as Segments;
          const { region: r, size: s } = request;
          const whole = r.x === 0 && r.y === 0 && same(r, c.image);
          assert.equal(region, whole ? 'full' : `${r.x},${r.y},${r.width},${r.height}`);
          if (version === 3) {
            const upscaled = s.width > r.width || s.height > r.height;
            assert.match(size, upscaled ? /^\^(max|\d+,\d+)$/ : /^(max|\d+,\d+)$/);
            if (!size.includes('max')) assert.equal(size, `${upscaled ? '^' : ''}${s.width},${s.height}`);
          } else if (same(s, r)) {
            assert.equal(size, 'full');
          } else {
            // `w,` when the height follows from the width and the region's aspect ratio, else `w,h`.
            const followed = Math.round((r.height * s.width) / r.width) === s.height;
            assert.equal(size, followed ? `${s.width},` : `${s.width},${s.height}`);
          }
          // An integer when it is one, no trailing zeros, never an exponent.
          assert.match(rotation, /^!?(0|[1-9]\d*)(\.\d*[1-9])?$/);
          assert.equal(Number(rotation.replace('!', '')), request.rotation);
          assert.equal(rotation.startsWith('!'), request.mirror);
          assert.equal(qualityFormat, `${request.quality}.${request.format}`);
        }),
        options(2000),
      );
    });

    it('resolved requests stay inside the image and the limits, and upscale only when allowed', () => {
      fc.assert(
        fc.property(caseFor(version), (c) => {
          const request = tryResolve(version, c);
          if (!request) return;
          const { region: r, size: s } = request;
          for (const n of [r.x, r.y, r.width, r.height, s.width, s.height]) assert.ok(Number.isSafeInteger(n), `${n} is not an integer`);
          assert.ok(r.x >= 0 && r.y >= 0 && r.width >= 1 && r.height >= 1);
          assert.ok(r.x + r.width <= c.image.width && r.y + r.height <= c.image.height, 'region leaves the image');
          assert.ok(s.width >= 1 && s.height >= 1);
          const { maxWidth, maxHeight = maxWidth, maxArea } = c.limits;
          if (maxWidth !== undefined) assert.ok(s.width <= maxWidth, `width ${s.width} > maxWidth ${maxWidth}`);
          if (maxHeight !== undefined) assert.ok(s.height <= maxHeight, `height ${s.height} > maxHeight ${maxHeight}`);
          if (maxArea !== undefined) assert.ok(s.width * s.height <= maxArea, `area ${s.width * s.height} > maxArea ${maxArea}`);
          const upscaled = s.width > r.width || s.height > r.height;
          // 3.0 enlarges only with '^'; 2.1 `full` and `max` never enlarge.
          if (upscaled && version === 3) assert.ok(c.segments[1].startsWith('^'), `${c.segments[1]} enlarged without '^'`);
          if (upscaled && version === 2) assert.ok(!['full', 'max'].includes(c.segments[1]), `${c.segments[1]} enlarged`);
        }),
        options(2000),
      );
    });

    // 3.0 only: 2.1 `max` never enlarges and is checked with the others above.
    if (version === 3) it('3.0 max is the largest size within the limits that keeps the aspect ratio', () => {
      fc.assert(
        fc.property(imageSize, sizeLimits, fc.boolean(), (image, limits, upscale) => {
          const request = tryResolve(3, { image, limits, segments: ['full', upscale ? '^max' : 'max', '0', 'default.jpg'] });
          if (!request) return;
          const { width, height } = request.size;
          const { maxWidth, maxHeight = maxWidth, maxArea } = limits;
          // One more pixel of width, the height scaled by the same factor (before rounding, which the
          // spec leaves open) and never below one pixel, would break a limit or enlarge without '^'.
          const w = width + 1;
          const h = Math.max(1, (image.height * w) / image.width);
          const breaks =
            (maxWidth !== undefined && w > maxWidth) ||
            (maxHeight !== undefined && h > maxHeight) ||
            (maxArea !== undefined && w * h > maxArea) ||
            (!upscale && w > image.width);
          const unbounded = upscale && Object.keys(limits).length === 0;
          assert.ok(breaks || unbounded, `${width}×${height} of ${image.width}×${image.height} under ${JSON.stringify(limits)} is not the largest`);
        }),
        options(2000),
      );
    });

    it('any text in any segment is either a request or a 400 naming the segment, never another error', () => {
      const segment = fc.oneof(hostileSegment.map((s) => safeDecode(s)), fc.string({ maxLength: 30 }));
      fc.assert(
        fc.property(imageSize, sizeLimits, validSegments(version, { width: 100, height: 80 }), fc.nat(3), segment, (image, limits, valid, index, text) => {
          // Only the one segment under test may be malformed.
          fc.pre(tryParse(version, valid));
          const segments = [...valid] as Segments;
          segments[index] = text;
          try {
            resolveRequest(parseImageRequest(version, ...segments), image, limits);
          } catch (error) {
            assert.ok(error instanceof IiifError && error.status === 400, `${segments.join('/')}: ${String(error)}`);
            const names = [['region'], ['size'], ['rotation'], ['quality', 'format']][index]!;
            // A well-formed segment may still be refused because of another one (a size below one pixel of a tiny region).
            const named = ['region', 'size', 'rotation', 'quality', 'format'].filter((n) => error.message.startsWith(n));
            assert.ok(named.length > 0, `${segments.join('/')}: '${error.message}' names no segment`);
            // A message quotes what was sent, not what a number became.
            if (!/infinity|nan/i.test(text)) assert.doesNotMatch(error.message, /Infinity|NaN/, segments.join('/'));
            if (!named.some((n) => names.includes(n))) {
              assert.ok(['region', 'size'].includes(named[0]!), `${segments.join('/')}: '${error.message}' blames the wrong segment`);
            }
          }
        }),
        options(3000),
      );
    });
  });
}

function tryParse(version: ApiVersion, segments: Segments): boolean {
  try {
    parseImageRequest(version, ...segments);
    return true;
  } catch {
    return false;
  }
}
