import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { Catalog } from '../../src/catalog/catalog.js';
import { CLI, vitrine } from '../helpers/cli.js';
import { buildBatch } from '../helpers/corpus.js';
import { startServer, tempDir } from '../helpers/server.js';
import { assertServesMaster } from '../helpers/served.js';

const EXTENSION = { ptiff: '.tif', jp2: '.jp2' } as const;
type Format = keyof typeof EXTENSION;

/**
 * Converts with `format` and kills the CLI with SIGKILL at the worst moment of a change of format:
 * the page's new derivative is in place and recorded, and its old file is being removed (strace
 * sends the signal on the unlink of that path, before the call runs).
 */
async function convertKilledAtRemoval(masters: string, out: string, format: Format, stale: string): Promise<void> {
  const args = ['-f', '-qq', '-o', '/dev/null', '-P', stale, '-e', 'trace=unlink,unlinkat', '-e', 'inject=unlink,unlinkat:signal=KILL'];
  const run = await promisify(execFile)('strace', [...args, process.execPath, CLI, 'convert', masters, '--out', out, '--format', format, '--workers', '1']).then(
    () => 'exited',
    (error: { signal?: string; code?: number }) => `${error.signal ?? error.code}`,
  );
  assert.notEqual(run, 'exited', 'the conversion was killed');
}

async function derivatives(images: string): Promise<string[]> {
  return (await readdir(images, { recursive: true })).filter((f) => /\.(tif|jp2)$/.test(f)).sort();
}

/** Every page is served with its master's pixels. */
async function assertServed(out: string, masters: string, identifiers: readonly string[]): Promise<void> {
  const server = await startServer(undefined, { data: out });
  try {
    for (const identifier of identifiers) {
      await assertServesMaster(server.url, identifier, path.join(masters, `${identifier}.tif`));
    }
  } finally {
    await server.close();
  }
}

describe('a change of format killed with SIGKILL', () => {
  it('never serves the other format’s stale file, and a re-run leaves one file per page', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const masters = path.join(dir, 'masters');
      const out = path.join(dir, 'out');
      await buildBatch(masters, 3, 1400);
      const identifiers = ['box1/page-001', 'box1/page-002', 'box1/page-003'];
      assert.equal((await vitrine('convert', masters, '--out', out)).code, 0);
      // Stale files are marked with other pixels (a red page, in each format), so serving one shows.
      const decoys = path.join(dir, 'decoys');
      await mkdir(path.join(decoys, 'masters/box1'), { recursive: true });
      await sharp({ create: { width: 1400, height: 1400, channels: 3, background: '#ff0000' } }).tiff().toFile(path.join(decoys, 'masters/box1/page-002.tif'));
      for (const format of ['ptiff', 'jp2'] as const) {
        assert.equal((await vitrine('convert', path.join(decoys, 'masters'), '--out', path.join(decoys, format), '--format', format)).code, 0);
      }

      for (const [from, to] of [['ptiff', 'jp2'], ['jp2', 'ptiff']] as const) {
        const stale = path.join(out, 'images', `box1/page-002${EXTENSION[from]}`);
        await convertKilledAtRemoval(masters, out, to, stale);
        // The moment the test is about: page 2 exists in both formats, the catalog records the new one.
        assert.ok(existsSync(stale) && existsSync(stale.replace(EXTENSION[from], EXTENSION[to])), 'both files of page 2 exist');
        await copyFile(path.join(decoys, from, `images/box1/page-002${EXTENSION[from]}`), stale);
        const catalog = new Catalog(path.join(out, 'catalog.sqlite'), { readonly: true });
        const recorded = catalog.pageByIdentifier('box1/page-002')?.derivativePath;
        catalog.close();
        assert.equal(path.extname(recorded ?? ''), EXTENSION[to]);
        await assertServed(out, masters, ['box1/page-001', 'box1/page-002']);

        const rerun = await vitrine('convert', masters, '--out', out, '--format', to, '--json');
        assert.equal(rerun.code, 0, rerun.stderr);
        assert.deepEqual(await derivatives(path.join(out, 'images')), identifiers.map((id) => `${id}${EXTENSION[to]}`), 'one file per page, in the new format');
        await assertServed(out, masters, identifiers);
      }
    } finally {
      await cleanup();
    }
  });
});
