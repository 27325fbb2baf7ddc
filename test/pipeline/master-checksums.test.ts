import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { Catalog } from '../../src/catalog/catalog.js';
import { DEFAULT_SETTINGS } from '../../src/pipeline/default-settings.js';
import { settingsFingerprint, sha256File } from '../../src/pipeline/convert.js';
import { MasterChecksums } from '../../src/pipeline/master-checksums.js';
import { convertAndRecord, type PageTarget } from '../../src/pipeline/page-step.js';
import { REFERENCE_PNG, tempDirForSuite } from '../helpers/server.js';

const sha256Of = async (file: string): Promise<string> => createHash('sha256').update(await readFile(file)).digest('hex');

async function versionOf(file: string): Promise<{ absolutePath: string; size: number; mtimeMs: number }> {
  const { size, mtimeMs } = await stat(file);
  return { absolutePath: file, size, mtimeMs };
}

describe('master checksums: each version of a master read once', () => {
  const tmp = tempDirForSuite('vitrine-checksums-');

  it('reads a master once for all who ask, at once or later, and again once it is replaced', async () => {
    const file = path.join(tmp.dir, 'master.bin');
    await writeFile(file, 'first version of the master');
    const checksums = new MasterChecksums();
    const first = await versionOf(file);
    const answers = await Promise.all([checksums.of(first, file), checksums.of(first, file), checksums.of(first, file)]);
    assert.deepEqual(answers, Array(3).fill(await sha256Of(file)));
    assert.equal(await checksums.of(first, file), answers[0]);
    assert.equal(checksums.reads, 1);
    // Replaced (same size, a new modification time): a new version, read again.
    await writeFile(file, 'other version of the master');
    await utimes(file, new Date(), new Date(first.mtimeMs + 5000));
    const second = await versionOf(file);
    assert.equal(second.size, first.size);
    assert.equal(await checksums.of(second, file), await sha256Of(file));
    assert.notEqual(await checksums.of(second, file), answers[0]);
    assert.equal(checksums.reads, 2);
  });

  it('does not keep a failed read: the next page reads the master again', async () => {
    const file = path.join(tmp.dir, 'late.bin');
    const version = { absolutePath: file, size: 4, mtimeMs: 1 };
    const checksums = new MasterChecksums();
    await assert.rejects(checksums.of(version, file), /ENOENT/);
    await writeFile(file, 'late');
    assert.equal(await checksums.of(version, file), await sha256Of(file));
    assert.equal(checksums.reads, 2);
  });

  it('the pages of a multi-page TIFF: one read of the master, its checksum recorded for each page', async () => {
    const master = path.join(tmp.dir, 'letters.tif');
    const pages = await Promise.all([0, 180, 0].map((angle) => sharp(REFERENCE_PNG).removeAlpha().resize(300, 200).rotate(angle).png().toBuffer()));
    await sharp(pages, { join: { animated: true } }).tiff({ compression: 'lzw' }).toFile(master);
    const meta = await sharp(master).metadata();
    assert.equal(meta.pages, 3, 'a master of three pages');
    const catalog = new Catalog(path.join(tmp.dir, 'catalog.sqlite'));
    try {
      const checksums = new MasterChecksums();
      const settings = DEFAULT_SETTINGS;
      const target: PageTarget = { out: path.join(tmp.dir, 'out'), tempDir: path.join(tmp.dir, 'out', '.tmp'), settings, settingsKey: settingsFingerprint(settings), encoderThreads: 1, checksums };
      await mkdir(target.tempDir, { recursive: true });
      const source = { relativePath: 'letters.tif', ...(await versionOf(master)) };
      const outcomes = await Promise.all(
        [0, 1, 2].map((sourcePage) => convertAndRecord(catalog, target, 'letters', { source, sourcePage, identifier: `letters/p${sourcePage + 1}` }, sourcePage + 1)),
      );
      assert.deepEqual(outcomes, ['converted', 'converted', 'converted']);
      assert.equal(checksums.reads, 1);
      const expected = await sha256Of(master);
      for (const sourcePage of [0, 1, 2]) assert.equal((await catalog.page(master, sourcePage))?.sourceSha256, expected, `page ${sourcePage + 1}`);
    } finally {
      catalog.close();
    }
  });

  it('hashes many masters at once with reused read buffers, each hash its own file', async () => {
    // Over two read chunks each, different contents: a buffer shared by two hashes at once would mix them.
    const files = await Promise.all(
      Array.from({ length: 5 }, async (_, i) => {
        const file = path.join(tmp.dir, `master-${i}.bin`);
        await writeFile(file, randomBytes((9 << 20) + i * 1000));
        return file;
      }),
    );
    const expected = await Promise.all(files.map(sha256Of));
    for (let round = 0; round < 3; round++) {
      assert.deepEqual(await Promise.all(files.map((f) => sha256File(f))), expected);
    }
    for (const [i, f] of files.entries()) assert.equal(await sha256File(f), expected[i]);
  });
});
