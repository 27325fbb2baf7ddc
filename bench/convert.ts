/**
 * Conversion throughput and memory: `vitrine convert` against `vips tiffsave --tile --pyramid
 * --compression jpeg` (Debian libvips-tools) on the same masters, in the same run.
 *
 *   npm run bench:convert                      # 24 pages of 4000×3000 + one 108 MP master
 *   npm run bench:convert -- --pages 48 --workers 2
 *
 * Both sides convert the same pages with the same parallelism (vips: one process per page, N at a
 * time). Peak RSS comes from GNU time: the whole Vitrine process; the largest vips process.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import path from 'node:path';
import { parseArgs, promisify } from 'node:util';
import sharp from 'sharp';
import { BENCH_DIR } from './lib/fixture.js';

const run = promisify(execFile);
const { values: args } = parseArgs({
  options: {
    pages: { type: 'string', default: '24' },
    workers: { type: 'string', default: String(cpus().length) },
    quality: { type: 'string', default: '85' },
  },
});
const pages = Number(args.pages);
const workers = Number(args.workers);
const quality = Number(args.quality);
const root = path.resolve(import.meta.dirname, '..');
execFileSync('bash', [path.join(root, 'scripts/install-bench-deps.sh')], { stdio: 'inherit' });
if (!existsSync(path.join(root, 'dist/cli/index.js'))) execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
const cli = path.join(root, 'dist/cli/index.js');

/** A scan-like master: the reference image scaled up, with noise so it compresses like paper. */
async function master(file: string, width: number, height: number): Promise<void> {
  if (existsSync(file)) return;
  await mkdir(path.dirname(file), { recursive: true });
  const reference = path.resolve(root, 'test/fixtures/67352ccc-d1b0-11e1-89ae-279075081939.png');
  const noise = sharp({ create: { width, height, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 0, sigma: 12 } } });
  await sharp(reference)
    .removeAlpha()
    .resize(width, height, { fit: 'fill' })
    .composite([{ input: await noise.png().toBuffer(), blend: 'overlay' }])
    .tiff({ compression: 'lzw' })
    .toFile(`${file}.tmp`);
  await (await import('node:fs/promises')).rename(`${file}.tmp`, file);
}

/** Runs a command under GNU time; returns wall seconds and peak RSS in MB. */
async function timed(command: string, commandArgs: string[]): Promise<{ seconds: number; rssMb: number }> {
  const started = performance.now();
  const { stderr } = await run('/usr/bin/time', ['-f', 'RSS=%M', command, ...commandArgs], { maxBuffer: 64 << 20 }).catch((e: { stderr: string; code: number }) => {
    if (e.code !== 3) throw e;
    return e;
  });
  const rss = Number(/RSS=(\d+)/.exec(stderr)?.[1] ?? Number.NaN) / 1024;
  return { seconds: (performance.now() - started) / 1000, rssMb: rss };
}

async function vipsBatch(files: string[], outDir: string): Promise<{ seconds: number; rssMb: number }> {
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  const started = performance.now();
  let next = 0;
  let peak = 0;
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (next < files.length) {
        const file = files[next++]!;
        const target = path.join(outDir, `${path.basename(file, '.tif')}.tif`);
        const spec = `${target}[tile,pyramid,compression=jpeg,Q=${quality},tile-width=256,tile-height=256]`;
        const { rssMb } = await timed('vips', ['copy', file, spec]);
        peak = Math.max(peak, rssMb);
      }
    }),
  );
  return { seconds: (performance.now() - started) / 1000, rssMb: peak };
}

async function vitrineBatch(mastersDir: string, outDir: string): Promise<{ seconds: number; rssMb: number }> {
  await rm(outDir, { recursive: true, force: true });
  return timed(process.execPath, [cli, 'convert', mastersDir, '--out', outDir, '--workers', String(workers), '--quality', String(quality)]);
}

const work = path.join(BENCH_DIR, 'convert');
const batchDir = path.join(work, 'masters-batch');
for (let i = 1; i <= pages; i++) await master(path.join(batchDir, 'book', `page-${String(i).padStart(3, '0')}.tif`), 4000, 3000);
const bigDir = path.join(work, 'masters-108mp');
await master(path.join(bigDir, 'map', 'sheet.tif'), 12000, 9000);
const batchFiles = (await readdir(path.join(batchDir, 'book'))).filter((f) => f.endsWith('.tif')).sort().map((f) => path.join(batchDir, 'book', f));

console.log(`\n${pages} masters of 4000×3000 (12 MP, LZW TIFF), ${workers} at a time; then one 12000×9000 (108 MP) master\n`);
const rows: { what: string; vitrine: { seconds: number; rssMb: number }; vips: { seconds: number; rssMb: number } }[] = [];
for (const [what, dir, files] of [
  ['batch', batchDir, batchFiles],
  ['108 MP', bigDir, [path.join(bigDir, 'map', 'sheet.tif')]],
] as const) {
  // Alternate, twice, and keep each side's best: the page cache is warm for both after the first pass.
  const results = { vitrine: [] as { seconds: number; rssMb: number }[], vips: [] as { seconds: number; rssMb: number }[] };
  for (let round = 0; round < 2; round++) {
    results.vips.push(await vipsBatch([...files], path.join(work, 'out-vips')));
    results.vitrine.push(await vitrineBatch(dir, path.join(work, 'out-vitrine')));
  }
  const best = (xs: { seconds: number; rssMb: number }[]) => xs.reduce((a, b) => (b.seconds < a.seconds ? b : a));
  rows.push({ what, vitrine: best(results.vitrine), vips: best(results.vips) });
}

console.log('input      vitrine s  pages/min  peak RSS MB   vips s  pages/min  peak RSS MB   time ratio');
for (const r of rows) {
  const n = r.what === 'batch' ? pages : 1;
  console.log(
    `${r.what.padEnd(9)} ${r.vitrine.seconds.toFixed(2).padStart(9)} ${((n / r.vitrine.seconds) * 60).toFixed(1).padStart(10)} ${r.vitrine.rssMb.toFixed(0).padStart(12)} ${r.vips.seconds.toFixed(2).padStart(8)} ${((n / r.vips.seconds) * 60).toFixed(1).padStart(10)} ${r.vips.rssMb.toFixed(0).padStart(12)} ${(r.vitrine.seconds / r.vips.seconds).toFixed(2).padStart(11)}×`,
  );
}
const big = rows.find((r) => r.what === '108 MP')!;
const batch = rows.find((r) => r.what === 'batch')!;
console.log(`\ntargets: time ≤ 1.1× vips tiffsave: ${batch.vitrine.seconds / batch.vips.seconds <= 1.1 ? 'met' : 'NOT met'}; peak RSS < 500 MB on 108 MP: ${big.vitrine.rssMb < 500 ? 'met' : 'NOT met'}`);
const out = path.join(BENCH_DIR, 'results-convert.json');
await writeFile(out, JSON.stringify({ date: new Date().toISOString(), pages, workers, quality, rows }, null, 2));
console.log(`results: ${out}`);
