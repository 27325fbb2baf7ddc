import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { nativeAddon } from '../../src/imaging/native.js';
import { sha256File } from '../../src/pipeline/convert.js';
import { KEEP_FREED_BYTES, keepFreedMemoryForConversion } from '../../src/pipeline/keep-freed-memory.js';
import { tempDir } from '../helpers/server.js';

describe('memory of a converting process', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  before(async () => ({ dir, cleanup } = await tempDir('vitrine-conversion-memory-')));
  after(() => cleanup());

  it('glibc takes every allocator setting a conversion asks for', () => {
    // glibc refuses some values silently (an mmap threshold over 32 MB, say): the process would
    // then convert with the defaults, every page's buffers faulted in afresh.
    assert.equal(keepFreedMemoryForConversion(), true);
    const keep = nativeAddon().binding!.keepFreedMemory!;
    assert.equal(keep(1, KEEP_FREED_BYTES), true);
    assert.throws(() => keep(0, KEEP_FREED_BYTES), /arenas must be a whole number from 1 to 1024/);
    assert.throws(() => keep(2.5, 0), RangeError);
    assert.throws(() => keep(2, 2 ** 31), /keepBytes from 0 to 1 GiB/);
    assert.throws(() => (keep as unknown as (a: unknown) => boolean)('2'), TypeError);
  });

  it('hashes many masters at once with reused read buffers, each hash its own file', async () => {
    // Over two read chunks each, different contents: a buffer shared by two hashes at once would mix them.
    const files = await Promise.all(
      Array.from({ length: 5 }, async (_, i) => {
        const file = path.join(dir, `master-${i}.bin`);
        await writeFile(file, randomBytes((9 << 20) + i * 1000));
        return file;
      }),
    );
    const expected = await Promise.all(files.map(async (f) => createHash('sha256').update(await readFile(f)).digest('hex')));
    for (let round = 0; round < 3; round++) {
      assert.deepEqual(await Promise.all(files.map((f) => sha256File(f))), expected);
    }
    for (const [i, f] of files.entries()) assert.equal(await sha256File(f), expected[i]);
  });
});
