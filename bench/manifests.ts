/**
 * Manifest service: latency of a 1,000-page object's manifest, and the static export of 10,000
 * manifests (time and peak RSS, against 1,000 to show memory does not grow with the catalog).
 *
 *   npm run bench:manifests
 *
 * The catalogs are synthetic (manifests come from the catalog alone, so no image is needed). No peer
 * runs here: iiif-prezi and the other manifest generators are Python packages from PyPI, which this
 * machine cannot reach; the figure to beat is the 100 ms.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { Catalog } from '../src/catalog/catalog.js';
import { BENCH_DIR } from './lib/fixture.js';

const root = path.resolve(import.meta.dirname, '..');
if (!existsSync(path.join(root, 'dist/cli/index.js'))) execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
const cli = path.join(root, 'dist/cli/index.js');
const run = promisify(execFile);

/** A catalog of `objects` objects of `pages` pages, in box/folder collections, plus one 1,000-page book. */
async function syntheticData(dir: string, objects: number, pages: number): Promise<void> {
  if (existsSync(path.join(dir, 'catalog.sqlite'))) return;
  await rm(dir, { recursive: true, force: true });
  await mkdir(path.join(dir, 'images'), { recursive: true });
  const catalog = new Catalog(path.join(dir, 'catalog.sqlite'));
  const add = (id: string, folder: string, count: number): void => {
    const list: { sourcePath: string; sourcePage: number }[] = [];
    for (let n = 1; n <= count; n++) {
      const sourcePath = `/masters/${id}/${String(n).padStart(4, '0')}.tif`;
      catalog.recordPage({
        objectId: id,
        sequence: n,
        identifier: `${id}/${String(n).padStart(4, '0')}`,
        sourcePath,
        sourcePage: 0,
        sourceSize: 36_000_000,
        sourceMtimeMs: 1_700_000_000_000,
        sourceSha256: '0'.repeat(64),
        settings: '{}',
        derivativePath: path.join(dir, 'images', id, `${String(n).padStart(4, '0')}.tif`),
        width: 4000 + (n % 7),
        height: 3000 + (n % 5),
        convertedAt: new Date(0).toISOString(),
      });
      list.push({ sourcePath, sourcePage: 0 });
    }
    catalog.setObjectPages({ id, folder }, list);
  };
  add('book', 'book', 1000);
  for (let i = 0; i < objects; i++) {
    const folder = `box-${String(Math.floor(i / 100)).padStart(3, '0')}/folder-${String(i % 100).padStart(3, '0')}`;
    add(folder, folder, pages);
  }
  catalog.close();
}

async function waitFor(url: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await fetch(url).then((r) => r.ok).catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not answer`);
}

const percentile = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;

const small = path.join(BENCH_DIR, 'manifests', 'data-1000');
const large = path.join(BENCH_DIR, 'manifests', 'data-10000');
await syntheticData(small, 1000, 4);
await syntheticData(large, 10000, 4);

// 1. The 1,000-page manifest over HTTP: first request after start (cold), then 200 in a row.
const port = 8197;
const server = spawn(process.execPath, [cli, 'serve', '--data', large, '--port', String(port), '--log-level', 'warn'], { stdio: 'inherit' });
try {
  await waitFor(`http://127.0.0.1:${port}/health`);
  const url = `http://127.0.0.1:${port}/iiif/manifest/book`;
  const time = async (headers: Record<string, string> = {}): Promise<{ ms: number; bytes: number }> => {
    const started = performance.now();
    const response = await fetch(url, { headers });
    const body = await response.arrayBuffer();
    if (!response.ok) throw new Error(`${url}: ${response.status}`);
    return { ms: performance.now() - started, bytes: body.byteLength };
  };
  const cold = await time();
  const plain: number[] = [];
  const gzip: number[] = [];
  for (let i = 0; i < 200; i++) plain.push((await time()).ms);
  for (let i = 0; i < 200; i++) gzip.push((await time({ 'accept-encoding': 'gzip' })).ms);
  console.log(`\n1,000-page manifest (${(cold.bytes / 1024).toFixed(0)} KB of JSON), one connection:`);
  console.log(`  first request after start  ${cold.ms.toFixed(1)} ms`);
  console.log(`  identity                   median ${percentile(plain, 0.5).toFixed(1)} ms, p95 ${percentile(plain, 0.95).toFixed(1)} ms`);
  console.log(`  gzip                       median ${percentile(gzip, 0.5).toFixed(1)} ms, p95 ${percentile(gzip, 0.95).toFixed(1)} ms`);
  console.log(`  target < 100 ms (p95, identity): ${percentile(plain, 0.95) < 100 ? 'met' : 'NOT met'}`);
} finally {
  server.kill('SIGTERM');
}

// 2. Static export: wall time and peak RSS for 1,000 and 10,000 objects.
console.log('\nstatic export (vitrine manifests), 4-page objects in box/folder collections:');
for (const [objects, data] of [
  [1000, small],
  [10000, large],
] as const) {
  const out = path.join(BENCH_DIR, 'manifests', `export-${objects}`);
  await rm(out, { recursive: true, force: true });
  const started = performance.now();
  const { stderr } = await run('/usr/bin/time', ['-f', 'RSS=%M', process.execPath, cli, 'manifests', '--data', data, '--base-url', 'https://iiif.example.org', '--out', out], {
    maxBuffer: 64 << 20,
  });
  const seconds = (performance.now() - started) / 1000;
  const rss = Number(/RSS=(\d+)/.exec(stderr)?.[1]) / 1024;
  console.log(`  ${String(objects + 1).padStart(6)} manifests  ${seconds.toFixed(1).padStart(5)} s  ${((objects + 1) / seconds).toFixed(0).padStart(5)} manifests/s  peak RSS ${rss.toFixed(0)} MB`);
}
