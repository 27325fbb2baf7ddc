import assert from 'node:assert/strict';
import { cpus } from 'node:os';
import { describe, it } from 'node:test';
import { nativeAddon } from '../../src/imaging/native.js';
import { arenasFor, KEEP_FREED_BYTES, keepFreedMemoryForLibvips } from '../../src/imaging/keep-freed-memory.js';

describe('memory of a process running libvips over and over', () => {
  it('glibc takes every allocator setting asked for', () => {
    // glibc refuses some values silently (an mmap threshold over 32 MB, say): the process would
    // then run with the defaults, every page's or request's buffers faulted in afresh.
    assert.equal(keepFreedMemoryForLibvips(), true);
    const keep = nativeAddon().binding!.keepFreedMemory!;
    assert.equal(keep(1, KEEP_FREED_BYTES), true);
    assert.throws(() => keep(0, KEEP_FREED_BYTES), /arenas must be a whole number from 1 to 1024/);
    assert.throws(() => keep(2.5, 0), RangeError);
    assert.throws(() => keep(2, 2 ** 31), /keepBytes from 0 to 1 GiB/);
    assert.throws(() => (keep as unknown as (a: unknown) => boolean)('2'), TypeError);
  });

  it('one arena per core, or as many as MALLOC_ARENA_MAX asks', () => {
    assert.equal(arenasFor({}), Math.max(2, cpus().length));
    assert.equal(arenasFor({ MALLOC_ARENA_MAX: '1' }), 1);
    assert.equal(arenasFor({ MALLOC_ARENA_MAX: '6' }), 6);
    for (const ignored of ['0', '-1', '2.5', 'two', '', '5000']) assert.equal(arenasFor({ MALLOC_ARENA_MAX: ignored }), Math.max(2, cpus().length), ignored);
    assert.equal(keepFreedMemoryForLibvips({ MALLOC_ARENA_MAX: '2' }), true);
  });
});
