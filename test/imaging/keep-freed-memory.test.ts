import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nativeAddon } from '../../src/imaging/native.js';
import { KEEP_FREED_BYTES, keepFreedMemoryForLibvips } from '../../src/imaging/keep-freed-memory.js';

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
});
