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
import { startServer, tempDir } from '../helpers/server.js';
import { assertServesMaster } from '../helpers/served.js';

import { CLI, vitrine } from '../helpers/cli.js';

async function derivativeCount(dir: string, extension = '.tif'): Promise<number> {
  const files = await readdir(dir, { recursive: true }).catch(() => [] as string[]);
  return files.filter((f) => f.endsWith(extension)).length;
}

/** Starts the CLI and kills it with SIGKILL once `atLeast` derivatives are in place, well before all are. */
async function convertKilledMidRun(masters: string, out: string, args: readonly string[], extension: string, atLeast: number, pages: number): Promise<void> {
  const child = spawn(process.execPath, [CLI, 'convert', masters, '--out', out, '--workers', '2', ...args], { stdio: 'ignore' });
  let finished = 0;
  for (let i = 0; i < 1200 && child.exitCode === null; i++) {
    finished = await derivativeCount(path.join(out, 'images'), extension);
    if (finished >= atLeast) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  assert.equal(child.exitCode, null, 'the batch was still running when killed');
  child.kill('SIGKILL');
  await once(child, 'exit');
  assert.ok(finished < pages, `killed mid-batch (${finished} of ${pages} done)`);
}

describe('a batch killed with SIGKILL mid-run', () => {
  it('resumes on re-run into a complete, valid result, converting only what was not finished', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const masters = path.join(dir, 'masters');
      const out = path.join(dir, 'out');
      const pages = 30;
      await buildBatch(masters, pages, 1400);

      // Killed once box1 (pages 1–10) is surely done, with two workers: 14 derivatives in place.
      await convertKilledMidRun(masters, out, [], '.tif', 14, pages);
      // An object is recorded (order, page count: what its manifest is built from) as soon as its pages are, not at the end of the batch.
      const early = new Catalog(path.join(out, 'catalog.sqlite'), { readonly: true });
      try {
        assert.equal(early.object('box1')?.pageCount, 10, 'box1 is in the catalog before the batch ends');
        assert.deepEqual(early.pages('box1').map((p) => p.sequence), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      } finally {
        early.close();
      }

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

describe('a --format jp2 batch killed with SIGKILL mid-run', () => {
  it('serves no partial JPEG 2000 file meanwhile, and resumes into a complete, correct result', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const masters = path.join(dir, 'masters');
      const out = path.join(dir, 'out');
      const pages = 20;
      await buildBatch(masters, pages, 1400);
      const identifiers = Array.from({ length: pages }, (_, i) => `box${Math.ceil((i + 1) / 10)}/page-${String(i + 1).padStart(3, '0')}`);
      await convertKilledMidRun(masters, out, ['--format', 'jp2'], '.jp2', 3, pages);

      // Between the kill and the re-run, a page is either not there yet (404) or whole.
      const server = await startServer(undefined, { data: out });
      let served = 0;
      try {
        for (const identifier of identifiers) {
          const response = await fetch(`${server.url}/iiif/3/${encodeURIComponent(identifier)}/info.json`);
          await response.arrayBuffer();
          if (response.status === 404) continue;
          assert.equal(response.status, 200, identifier);
          await assertServesMaster(server.url, identifier, path.join(masters, `${identifier}.tif`));
          served++;
        }
      } finally {
        await server.close();
      }
      assert.ok(served >= 3 && served < pages, `${served} pages served after the kill`);

      const again = await vitrine('convert', masters, '--out', out, '--format', 'jp2', '--json');
      assert.equal(again.code, 0, again.stderr);
      const report = JSON.parse(again.stdout) as ConversionReport;
      assert.equal(report.totals.converted + report.totals.skipped, pages);
      assert.ok(report.totals.skipped >= 1 && report.totals.converted >= 1, `resumed: ${JSON.stringify(report.totals)}`);
      assert.deepEqual(await readdir(path.join(out, '.tmp')), [], 'no temporary file left');
      assert.equal(await derivativeCount(path.join(out, 'images'), '.jp2'), pages);
      const after = await startServer(undefined, { data: out });
      try {
        for (const identifier of identifiers) await assertServesMaster(after.url, identifier, path.join(masters, `${identifier}.tif`));
      } finally {
        await after.close();
      }
    } finally {
      await cleanup();
    }
  });
});
