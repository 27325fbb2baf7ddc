/**
 * Memory and time of planning a batch: `vitrine convert --dry-run` over synthetic trees of
 * 100-page objects, each page a hard link of a tiny valid TIFF (the plan reads every master's
 * header, as a real run does; the pixels do not matter). ext4 allows 65,000 links to a file, so
 * there is one copy of the TIFF per 50,000 pages.
 *
 *   npm run bench:plan                          # 40,000 and 400,000 pages
 *   npm run bench:plan -- --pages 40000,400000,4000000
 *   npm run bench:plan -- --cli /elsewhere/dist/cli/index.js   # another build, to compare
 *   npm run bench:plan -- --collections         # with a collection.yml at the top and in every box
 *
 * Peak RSS is the CLI process's own VmHWM, read at its exit (bench/lib/peak-rss.mjs). The target:
 * memory flat in the size of the batch (the same peak for 10× the pages).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, link, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs, promisify } from 'node:util';
import sharp from 'sharp';
import { BENCH_DIR } from './lib/fixture.js';

const PAGES_PER_OBJECT = 100;
const LINKS_PER_FILE = 50_000;
const { values: args } = parseArgs({
  options: { pages: { type: 'string', default: '40000,400000' }, cli: { type: 'string' }, collections: { type: 'boolean', default: false } },
});
const sizes = args.pages.split(',').map(Number);
const root = path.resolve(import.meta.dirname, '..');
const cli = path.resolve(args.cli ?? path.join(root, 'dist/cli/index.js'));
if (!existsSync(cli)) throw new Error(`${cli} is missing: run \`npm run build\` first`);

/**
 * A tree of `pages` pages: `pages / 100` folders of 100 hard links to one TIFF. Built once, reused.
 * With --collections, a collection.yml at the top and in every box, each with a thumbnail naming
 * the last page of the last folder it holds: the reference stays open while the whole box is planned.
 */
async function tree(pages: number): Promise<string> {
  const dir = path.join(BENCH_DIR, 'plan', `${pages}${args.collections ? '-collections' : ''}`);
  const complete = `${dir}.complete`;
  if (existsSync(complete)) return dir;
  await rm(dir, { recursive: true, force: true });
  const page = path.join(BENCH_DIR, 'plan', 'page.tif');
  await mkdir(path.dirname(page), { recursive: true });
  await sharp({ create: { width: 8, height: 8, channels: 3, background: '#808080' } }).tiff().toFile(page);
  const building = `${dir}.building`;
  await rm(building, { recursive: true, force: true });
  await mkdir(building);
  for (let o = 0; o < pages / PAGES_PER_OBJECT; o++) {
    const folder = path.join(building, `box${String(Math.floor(o / 100)).padStart(3, '0')}`, `folder${String(o % 100).padStart(2, '0')}`);
    await mkdir(folder, { recursive: true });
    const copy = path.join(building, `.page-${Math.floor((o * PAGES_PER_OBJECT) / LINKS_PER_FILE)}.tif`);
    if (!existsSync(copy)) await copyFile(page, copy);
    await Promise.all(Array.from({ length: PAGES_PER_OBJECT }, (_, p) => link(copy, path.join(folder, `scan_${String(p + 1).padStart(4, '0')}.tif`))));
    if (args.collections && o % 100 === 0) {
      const last = `folder${String(Math.min(99, pages / PAGES_PER_OBJECT - o - 1)).padStart(2, '0')}`;
      await writeFile(path.join(folder, '..', 'collection.yml'), `label: ${path.basename(path.dirname(folder))}\nthumbnail: { object: ${last}, page: scan_0100.tif }\n`);
    }
  }
  if (args.collections) {
    const last = pages / PAGES_PER_OBJECT - 1;
    const folder = `box${String(Math.floor(last / 100)).padStart(3, '0')}/folder${String(last % 100).padStart(2, '0')}`;
    await writeFile(path.join(building, 'collection.yml'), `label: All boxes\nthumbnail: { object: ${folder}, page: 100 }\n`);
  }
  await rename(building, dir);
  await writeFile(complete, '');
  return dir;
}

async function dryRun(masters: string): Promise<{ seconds: number; rssMb: number; summary: string; anomalies: string[] }> {
  const started = performance.now();
  const out = path.join(BENCH_DIR, 'plan', 'out');
  const { stderr } = await promisify(execFile)(process.execPath, ['--import', path.join(import.meta.dirname, 'lib/peak-rss.mjs'), cli, 'convert', masters, '--out', out, '--dry-run'], {
    maxBuffer: 256 << 20,
  });
  const seconds = (performance.now() - started) / 1000;
  const kb = Number(/peak-rss-kb=(\d+)/.exec(stderr)?.[1]);
  const summary = /^(would convert .*)$/m.exec(stderr)?.[1] ?? '';
  return { seconds, rssMb: kb / 1024, summary, anomalies: stderr.match(/^anomaly: .*$/gm) ?? [] };
}

console.log(`vitrine convert --dry-run over trees of ${PAGES_PER_OBJECT}-page objects (hard links of one 8×8 TIFF)\n`);
console.log('pages        objects   seconds   peak RSS MB   summary');
const results: { pages: number; rssMb: number }[] = [];
for (const pages of sizes) {
  const masters = await tree(pages);
  const result = await dryRun(masters);
  if (!result.summary.startsWith(`would convert ${pages},`)) throw new Error(`the dry run did not plan every page: ${result.summary}`);
  // Every thumbnail names a page that is there: an anomaly means the collections were misread.
  if (result.anomalies.length > 0) throw new Error(`the dry run reported anomalies: ${result.anomalies.join('; ')}`);
  results.push({ pages, rssMb: result.rssMb });
  console.log(
    `${String(pages).padEnd(12)} ${String(pages / PAGES_PER_OBJECT).padEnd(9)} ${result.seconds.toFixed(1).padStart(7)}   ${result.rssMb.toFixed(0).padStart(11)}   ${result.summary}`,
  );
}
const [smallest, largest] = [results[0]!, results.at(-1)!];
if (results.length > 1) {
  console.log(`\npeak RSS ×${(largest.rssMb / smallest.rssMb).toFixed(2)} for ×${largest.pages / smallest.pages} pages (flat: ≤ ×1.2)`);
}
