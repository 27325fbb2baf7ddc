import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonicalPath } from '../../src/image-api/canonical.js';
import { IiifError } from '../../src/image-api/errors.js';
import { parseImageRequest, parseSize } from '../../src/image-api/grammar.js';
import { resolveRequest } from '../../src/image-api/resolve.js';

const image = { width: 300, height: 200 };
const limits = { maxArea: 1_000_000 };

function resolve(version: 2 | 3, region: string, size: string, rotation = '0', qf = 'default.jpg') {
  return resolveRequest(parseImageRequest(version, region, size, rotation, qf), image, limits);
}

function status(fn: () => unknown): number | undefined {
  try {
    fn();
  } catch (error) {
    if (error instanceof IiifError) return error.status;
    throw error;
  }
  return undefined;
}

describe('request grammar and resolution', () => {
  it('resolves the spec examples for regions', () => {
    assert.deepEqual(resolve(3, '125,15,120,140', 'max').region, { x: 125, y: 15, width: 120, height: 140 });
    assert.deepEqual(resolve(3, 'pct:41.6,7.5,40,70', 'max').region, { x: 125, y: 15, width: 120, height: 140 });
    assert.deepEqual(resolve(3, '125,15,200,200', 'max').size, { width: 175, height: 185 });
    assert.deepEqual(resolve(3, 'square', 'max').region, { x: 50, y: 0, width: 200, height: 200 });
  });

  it('resolves the spec examples for sizes', () => {
    assert.deepEqual(resolve(3, 'full', '150,').size, { width: 150, height: 100 });
    assert.deepEqual(resolve(3, 'full', ',150').size, { width: 225, height: 150 });
    assert.deepEqual(resolve(3, 'full', '!225,100').size, { width: 150, height: 100 });
    assert.deepEqual(resolve(3, 'full', '^!360,360').size, { width: 360, height: 240 });
    assert.deepEqual(resolve(3, 'full', 'pct:50').size, { width: 150, height: 100 });
    assert.deepEqual(resolve(3, 'full', '^360,360').size, { width: 360, height: 360 });
    assert.deepEqual(resolve(2, 'full', 'full').size, { width: 300, height: 200 });
    assert.deepEqual(resolve(2, 'full', '600,').size, { width: 600, height: 400 });
  });

  it('rejects upscaling without ^ in 3.0, and sizes over the limits', () => {
    assert.equal(status(() => resolve(3, 'full', '301,')), 400);
    assert.equal(status(() => resolve(3, 'full', 'pct:101')), 400);
    assert.equal(status(() => resolve(3, 'full', '^2000,2000')), 400);
    assert.equal(status(() => resolve(3, 'full', '^1000,')), undefined);
  });

  it('rejects malformed segments with a message naming the segment', () => {
    for (const [region, size, rotation, qf] of [
      ['0,0,0,10', 'max', '0', 'default.jpg'],
      ['300,0,10,10', 'max', '0', 'default.jpg'],
      ['a,b,c,d', 'max', '0', 'default.jpg'],
      ['full', '0,', '0', 'default.jpg'],
      ['full', 'full', '0', 'default.jpg'],
      ['full', 'max', '361', 'default.jpg'],
      ['full', 'max', '-5', 'default.jpg'],
      ['full', 'max', '0', 'fancy.jpg'],
      ['full', 'max', '0', 'default.pdf'],
    ] as const) {
      try {
        resolveRequest(parseImageRequest(3, region, size, rotation, qf), image, limits);
        assert.fail(`${region}/${size}/${rotation}/${qf} was accepted`);
      } catch (error) {
        assert.ok(error instanceof IiifError);
        assert.equal(error.status, 400);
        assert.match(error.message, /^(region|size|rotation|quality|format)/);
      }
    }
  });

  it('computes canonical paths per version', () => {
    const canonical = (v: 2 | 3, r: string, s: string, rot = '0') =>
      canonicalPath(resolve(v, r, s, rot), image, limits, v);
    assert.equal(canonical(3, 'full', 'max'), 'full/max/0/default.jpg');
    assert.equal(canonical(3, 'pct:0,0,100,100', '300,200'), 'full/max/0/default.jpg');
    assert.equal(canonical(3, 'full', '150,'), 'full/150,100/0/default.jpg');
    assert.equal(canonical(3, 'full', '^600,', '!90'), 'full/^600,400/!90/default.jpg');
    assert.equal(canonical(3, 'square', 'max', '22.50'), '50,0,200,200/max/22.5/default.jpg');
    assert.equal(canonical(2, 'full', 'full'), 'full/full/0/default.jpg');
    assert.equal(canonical(2, 'full', '!225,100'), 'full/150,/0/default.jpg');
    assert.equal(canonical(2, 'full', '100,100'), 'full/100,100/0/default.jpg');
    assert.equal(parseSize('^max', 3).upscale, true);
  });
});

describe('grammar regressions found by the properties (grammar-properties.test.ts)', () => {
  it('writes a tiny rotation in the canonical URL as a plain decimal, which parses again', () => {
    const request = resolve(3, 'full', 'max', '0.0000001');
    const canonical = canonicalPath(request, image, limits, 3);
    assert.equal(canonical, 'full/max/0.0000001/default.jpg');
    const [r, s, rot, qf] = canonical.split('/') as [string, string, string, string];
    assert.deepEqual(resolve(3, r, s, rot, qf), request);
  });

  it('refuses a percentage too large to be a number, quoting what was sent rather than Infinity', () => {
    const nines = '9'.repeat(400);
    for (const [region, size] of [[`pct:${nines},0,1,1`, 'full'], [`pct:0,0,${nines},1`, 'full'], ['full', `pct:${nines}`]] as const) {
      try {
        resolve(2, region, size);
        assert.fail(`${region}/${size} was accepted`);
      } catch (error) {
        assert.ok(error instanceof IiifError && error.status === 400, String(error));
        assert.match(error.message, /too large/);
        assert.doesNotMatch(error.message, /Infinity/);
      }
    }
  });

  it('makes ^max exactly maxWidth wide when maxWidth is what limits it', () => {
    const wide = { width: 3319, height: 1 };
    const request = resolveRequest(parseImageRequest(3, 'full', '^max', '0', 'default.jpg'), wide, { maxWidth: 6994 });
    assert.deepEqual(request.size, { width: 6994, height: 2 });
  });
});
