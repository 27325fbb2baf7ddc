import assert from 'node:assert/strict';
import { readdir, writeFile, mkdir, utimes } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { DiskCache } from '../../src/storage/disk-cache.js';
import { tempDirForSuite } from '../helpers/server.js';

/** The local cache of S3 ranges: bounded by total size, least recently used out first, pins kept, rebuilt after a restart. */

const KB = 1024;
const bytes = (fill: number, size = 400 * KB): Buffer => Buffer.alloc(size, fill);

describe('disk cache', () => {
  const tmp = tempDirForSuite('vitrine-disk-cache-');

  it('keeps the total under its bound, removing the least recently used files first', async () => {
    const cache = await DiskCache.open(path.join(tmp.dir, 'lru'), 1000 * KB);
    await cache.write('g/a', bytes(1));
    await cache.write('g/b', bytes(2));
    assert.deepEqual(await cache.read('g/a'), bytes(1), 'a used: b is now the oldest');
    await cache.write('g/c', bytes(3));
    assert.ok(cache.bytes <= 1000 * KB, `${cache.bytes} bytes kept`);
    assert.equal(await cache.read('g/b'), undefined, 'b was evicted');
    assert.deepEqual(await cache.read('g/a'), bytes(1));
    assert.deepEqual(await cache.read('g/c'), bytes(3));
    assert.deepEqual((await readdir(path.join(tmp.dir, 'lru', 'g'))).sort(), ['a', 'c'], 'and its file removed');
  });

  it('never removes a pinned file (a local copy being read)', async () => {
    const cache = await DiskCache.open(path.join(tmp.dir, 'pins'), 1000 * KB);
    await cache.write('g/full', bytes(1));
    cache.pin('g/full');
    await cache.write('g/b', bytes(2));
    await cache.write('g/c', bytes(3));
    assert.ok(cache.has('g/full'), 'pinned: kept although the oldest');
    assert.equal(cache.has('g/b'), false);
    cache.unpin('g/full');
    await cache.write('g/d', bytes(4));
    assert.equal(cache.has('g/full'), false, 'unpinned: evicted like any file');
  });

  it('is rebuilt from its folder at start, oldest first, and leftover temporaries of a killed write are removed', async () => {
    const folder = path.join(tmp.dir, 'restart');
    const first = await DiskCache.open(folder, 1000 * KB);
    await first.write('g/old', bytes(1));
    await first.write('g/new', bytes(2));
    await utimes(path.join(folder, 'g', 'old'), new Date(1000), new Date(1000));
    await mkdir(path.join(folder, 'h'), { recursive: true });
    await writeFile(path.join(folder, 'h', '.tmp-0123abcd'), bytes(9, 10));
    const second = await DiskCache.open(folder, 1000 * KB);
    assert.equal(second.files, 2);
    assert.equal(second.bytes, 800 * KB);
    assert.deepEqual(await readdir(path.join(folder, 'h')), [], 'the half-written file is gone');
    await second.write('g/third', bytes(3));
    assert.equal(second.has('g/old'), false, 'the oldest before the restart goes first');
    assert.ok(second.has('g/new'));
  });
});
