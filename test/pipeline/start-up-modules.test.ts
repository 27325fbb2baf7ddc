import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { CLI } from '../helpers/cli.js';
import { pagePicture } from '../helpers/corpus.js';
import { tempDir } from '../helpers/server.js';

/*
 * What a conversion loads is its start-up cost, paid before the first page (~0.1 s of CPU for zod,
 * ~0.06 for the server's modules, ~0.06 for sharp's ES module build over its CommonJS one; see
 * bench:convert). Which packages a run loads is observable: the files it opens, through strace.
 */

/** The packages under node_modules whose files a `vitrine …` run opened (`@scope/name` or `name`), and sharp's entry files. */
async function openedPackages(args: string[], traceFile: string): Promise<{ packages: Set<string>; files: string[] }> {
  await promisify(execFile)('strace', ['-f', '-qq', '-e', 'trace=openat', '-o', traceFile, process.execPath, CLI, ...args]);
  const files = [...(await readFile(traceFile, 'utf8')).matchAll(/openat\([^"]*"([^"]*\/node_modules\/[^"]+)"/g)].map((m) => m[1]!);
  const packages = new Set(files.map((f) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(f)?.[1]).filter((p): p is string => p !== undefined));
  return { packages, files };
}

/** Packages a conversion without rules, sidecars or a CSV does not use. */
const UNUSED = ['zod', 'yaml', 'csv-parse', 'fastify', 'prom-client', 'pino'];

describe('vitrine convert loads what the batch uses', () => {
  it('a batch without rules or sidecars loads neither zod, yaml, csv-parse nor the server; sharp once, from its CommonJS build', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const masters = path.join(dir, 'masters');
      await mkdir(path.join(masters, 'box'), { recursive: true });
      await writeFile(path.join(masters, 'box/001.tif'), await pagePicture(1, 64, 48).tiff().toBuffer());
      const out = path.join(dir, 'out');
      const { packages, files } = await openedPackages(['convert', masters, '--out', out, '--workers', '1'], path.join(dir, 'trace'));
      for (const name of UNUSED) assert.ok(!packages.has(name), `${name} is not loaded`);
      assert.ok(packages.has('sharp') && packages.has('better-sqlite3'), 'sharp and the catalog are loaded');
      assert.deepEqual(
        files.filter((f) => /\/node_modules\/sharp\/dist\/index\.(cjs|mjs)$/.test(f)).map((f) => path.basename(f)),
        ['index.cjs'],
        "sharp's CommonJS build, not its ES module build beside it",
      );
      assert.equal((await sharp(path.join(out, 'images/box/001.tif')).metadata()).width, 64, 'the page is converted');
    } finally {
      await cleanup();
    }
  });

  it('with a rules file, yaml and zod are loaded to read it, and its rules apply', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const masters = path.join(dir, 'masters');
      await mkdir(masters, { recursive: true });
      await writeFile(path.join(masters, 'A_001.tif'), await pagePicture(1, 64, 48).tiff().toBuffer());
      const rules = path.join(dir, 'rules.yml');
      await writeFile(rules, "rules:\n  - pattern: '^(?<object>[A-Z]+)_(?<sequence>\\d+)'\n");
      const out = path.join(dir, 'out');
      const { packages } = await openedPackages(['convert', masters, '--out', out, '--workers', '1', '--rules', rules], path.join(dir, 'trace'));
      assert.ok(packages.has('yaml') && packages.has('zod'), 'yaml and zod are loaded for the rules file');
      assert.equal((await sharp(path.join(out, 'images/A/A_001.tif')).metadata()).width, 64, 'the rules named the object A');
    } finally {
      await cleanup();
    }
  });
});
