import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { Catalog } from '../../src/catalog/catalog.js';
import type { ConversionReport } from '../../src/pipeline/run.js';
import { buildBatch } from '../helpers/corpus.js';
import { tempDir } from '../helpers/server.js';

import { CLI } from '../helpers/cli.js';

async function derivativeCount(dir: string): Promise<number> {
  const files = await readdir(dir, { recursive: true }).catch(() => [] as string[]);
  return files.filter((f) => f.endsWith('.tif')).length;
}

describe('a batch killed with SIGKILL mid-run', () => {
  it('resumes on re-run into a complete, valid result, converting only what was not finished', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const masters = path.join(dir, 'masters');
      const out = path.join(dir, 'out');
      const pages = 30;
      await buildBatch(masters, pages, 1400);

      const child = spawn(process.execPath, [CLI, 'convert', masters, '--out', out, '--workers', '2'], { stdio: 'ignore' });
      // Kill once some pages are finished but well before all are.
      let finished = 0;
      for (let i = 0; i < 600 && child.exitCode === null; i++) {
        finished = await derivativeCount(path.join(out, 'images'));
        if (finished >= 4) break;
        await new Promise((r) => setTimeout(r, 25));
      }
      assert.equal(child.exitCode, null, 'the batch was still running when killed');
      child.kill('SIGKILL');
      await once(child, 'exit');
      assert.ok(finished < pages, `killed mid-batch (${finished} of ${pages} done)`);

      const { stdout } = await promisify(execFile)(process.execPath, [CLI, 'convert', masters, '--out', out, '--json']);
      const report = JSON.parse(stdout) as ConversionReport;
      assert.equal(report.totals.failed, 0);
      assert.equal(report.totals.converted + report.totals.skipped, pages);
      assert.ok(report.totals.skipped >= 1, 'pages finished before the kill are not converted again');
      assert.ok(report.totals.converted >= 1, 'pages not finished before the kill are converted');

      const catalog = new Catalog(path.join(out, 'catalog.sqlite'), { readonly: true });
      try {
        const recorded = catalog.objects().flatMap((o) => catalog.pages(o.id));
        assert.equal(recorded.length, pages);
        for (const page of recorded) {
          // Every derivative is whole: its last pyramid level and full resolution decode.
          const meta = await sharp(page.derivativePath).metadata();
          assert.deepEqual([meta.width, meta.height], [1400, 1400]);
          await sharp(page.derivativePath, { page: (meta.pages ?? 1) - 1 }).raw().toBuffer();
          await sharp(page.derivativePath, { page: 0, failOn: 'error' }).extract({ left: 1144, top: 1144, width: 256, height: 256 }).raw().toBuffer();
        }
      } finally {
        catalog.close();
      }
      assert.deepEqual(await readdir(path.join(out, '.tmp')), [], 'no temporary file left');
      assert.equal(await derivativeCount(path.join(out, 'images')), pages);
    } finally {
      await cleanup();
    }
  });
});
