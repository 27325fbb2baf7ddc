import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { before, describe, it } from 'node:test';
import fc from 'fast-check';
import sharp from 'sharp';
import { jp2Info } from '../../src/imaging/jp2/info.js';
import { Jp2FormatError } from '../../src/imaging/jp2/codestream.js';
import { readIfds, TiffFormatError } from '../../src/imaging/tiff/ifd.js';
import type { RangeReader } from '../../src/storage/byte-source.js';
import { runs, SEED } from '../helpers/image-request-arbitraries.js';
import { REFERENCE_PNG } from '../helpers/server.js';

// Fuzzing of the TypeScript header readers (TIFF directories, JP2 boxes and codestream main header)
// with fast-check: valid files with random bytes overwritten, and cut short. Whatever the bytes, a
// reader answers with a header or rejects with its format error, never another exception (a
// TypeError or RangeError would be a 500 without a reason). The native decoders have libFuzzer
// targets (native/fuzz/, scripts/fuzz.sh).

/** Ranged reads of a buffer, as a file's are: exactly the bytes asked, or a rejection. */
function reader(bytes: Buffer): RangeReader {
  return {
    size: bytes.length,
    async read(offset, length) {
      if (offset < 0 || length < 0 || offset + length > bytes.length) throw new RangeError(`read of ${length} bytes at ${offset} beyond ${bytes.length}`);
      return Buffer.from(bytes.subarray(offset, offset + length));
    },
  };
}

/** A valid file with up to 24 bytes overwritten (most in its first kilobyte, where headers are) and maybe cut short. */
const damaged = (file: Buffer): fc.Arbitrary<Buffer> =>
  fc
    .record({
      patches: fc.array(
        fc.record({ at: fc.oneof(fc.nat(Math.min(1023, file.length - 1)), fc.nat(file.length - 1)), value: fc.integer({ min: 0, max: 255 }) }),
        { maxLength: 24 },
      ),
      cut: fc.option(fc.nat(file.length - 1), { nil: undefined }),
    })
    .map(({ patches, cut }) => {
      const copy = Buffer.from(file.subarray(0, cut ?? file.length));
      for (const { at, value } of patches) if (at < copy.length) copy[at] = value;
      return copy;
    });

async function settles(work: Promise<unknown>, expected: new (...args: never[]) => Error): Promise<void> {
  try {
    await work;
  } catch (error) {
    assert.ok(error instanceof expected, `rejected with ${(error as Error).name}: ${(error as Error).message}, not a ${expected.name}`);
  }
}

describe('header readers against damaged files (fast-check)', () => {
  let tiff: Buffer;
  let jp2: Buffer;
  before(async () => {
    // A small JPEG-tiled pyramid (three levels) and the reference JP2.
    tiff = await sharp(REFERENCE_PNG).resize(600).tiff({ compression: 'jpeg', tile: true, tileWidth: 128, tileHeight: 128, pyramid: true }).toBuffer();
    jp2 = await readFile(REFERENCE_PNG.replace(/\.png$/, '.jp2'));
  });

  it('the valid files read', async () => {
    assert.ok((await readIfds(reader(tiff))).length >= 3, 'the pyramid has its levels');
    assert.ok((await jp2Info(reader(jp2))).levels.length > 1, 'the JP2 has its resolution levels');
  });

  it('TIFF directories: a header or a TiffFormatError, whatever the bytes', async () => {
    await fc.assert(
      fc.asyncProperty(damaged(tiff), async (bytes) => settles(readIfds(reader(bytes)), TiffFormatError)),
      { seed: SEED, numRuns: runs(400) },
    );
  });

  it('JPEG 2000 boxes and main header: a header or a Jp2FormatError, whatever the bytes', async () => {
    await fc.assert(
      fc.asyncProperty(damaged(jp2), async (bytes) => settles(jp2Info(reader(bytes)), Jp2FormatError)),
      { seed: SEED, numRuns: runs(400) },
    );
  });
});
