import assert from 'node:assert/strict';
import { mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import type { ConversionReport } from '../../src/pipeline/run.js';
import { pagePicture } from '../helpers/corpus.js';
import { tempDir } from '../helpers/server.js';
import { vitrine } from '../helpers/cli.js';

/*
 * Masters the operating system will not read. chmod 000 stops nobody when the tests run as root
 * (CAP_DAC_OVERRIDE), so the refusals come from kernel files that refuse everyone, reached through
 * a symbolic link under a master's name (the scan follows links to files):
 *   - /proc/sys/vm/compact_memory is write-only, and sysctl files refuse reads even to root: EACCES;
 *   - /proc/self/mem of the reading process fails at offset 0 (never mapped): EIO, as a bad sector does.
 */
const EACCES_FILE = '/proc/sys/vm/compact_memory';
const EIO_FILE = '/proc/self/mem';

async function writePage(file: string, n: number): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, await pagePicture(n, 64, 48).tiff().toBuffer());
}

describe('masters the system cannot read', () => {
  it('fail their own page with the reason (EACCES, EIO), and the rest of the batch converts', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const masters = path.join(dir, 'masters');
      const out = path.join(dir, 'out');
      await writePage(path.join(masters, 'box/001.tif'), 1);
      await symlink(EACCES_FILE, path.join(masters, 'box/002.tif'));
      await symlink(EIO_FILE, path.join(masters, 'box/003.tif'));
      await writePage(path.join(masters, 'box/004.tif'), 4);

      const run = await vitrine('convert', masters, '--out', out, '--json', '--workers', '2');
      assert.equal(run.code, 3, `exit 3 (pages failed), not a crash: ${run.stderr}`);
      const report = JSON.parse(run.stdout) as ConversionReport;
      assert.equal(report.totals.converted, 2);
      const reasons = new Map(report.failed.map((f) => [f.source, f.reason]));
      assert.match(reasons.get('box/002.tif') ?? '', /^cannot be read: EACCES/);
      assert.match(reasons.get('box/003.tif') ?? '', /^cannot be read: EIO/);
    } finally {
      await cleanup();
    }
  });

  it('fail their own page when the checksum of a re-run (mtime changed, same size) cannot read them', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const masters = path.join(dir, 'masters');
      const out = path.join(dir, 'out');
      await writePage(path.join(masters, 'box/001.tif'), 1);
      await writePage(path.join(masters, 'box/002.tif'), 2);
      assert.equal((await vitrine('convert', masters, '--out', out)).code, 0);

      // The disk now fails under 002.tif; its size still matches the record (the kernel file reports 0
      // bytes, so the record says 0 too) and its mtime does not: only the checksum can tell.
      await rm(path.join(masters, 'box/002.tif'));
      await symlink(EIO_FILE, path.join(masters, 'box/002.tif'));
      const db = new Database(path.join(out, 'catalog.sqlite'));
      db.prepare("UPDATE pages SET source_size = 0 WHERE source_path LIKE '%002.tif'").run();
      db.close();

      const run = await vitrine('convert', masters, '--out', out, '--json');
      assert.equal(run.code, 3, `exit 3 (pages failed), not a crash: ${run.stderr}`);
      const report = JSON.parse(run.stdout) as ConversionReport;
      assert.equal(report.totals.skipped, 1);
      assert.deepEqual(report.failed.map((f) => f.source), ['box/002.tif']);
      assert.match(report.failed[0]!.reason, /^cannot be read: EIO/);
    } finally {
      await cleanup();
    }
  });
});
