/**
 * Manifest service: latency of a 1,000-page object's manifest, and the static export of 10,000
 * manifests (time and peak RSS, against 1,000 to show memory does not grow with the catalog).
 *
 *   npm run bench:manifests
 *   npm run bench:manifests -- --starts 5 --requests 200
 *
 * Cold and warm apart: cold is the first request after the server starts (nothing cached, the code
 * not yet optimised), measured over `starts` fresh servers; then the first request for the 2.1 form
 * (process warm, that document not yet built); warm is `requests` requests in a row once the document
 * is cached (median and p95). The answer is checked (a Manifest with 1,000 canvases) before timing,
 * and every response must be a 200; the export must write every manifest.
 * The catalogs are synthetic (manifests come from the catalog alone, so no image is needed). No peer
 * runs here: iiif-prezi and the other manifest generators are Python packages from PyPI, which this
 * machine cannot reach; the figure to beat is the 100 ms.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { Catalog } from '../src/catalog/catalog.js';
import { BENCH_DIR } from './lib/fixture.js';
import { CLI, prepareBench } from './lib/setup.js';
import { median, quantile } from './lib/stats.js';

const { values: args } = parseArgs({
  options: {
    starts: { type: 'string', default: '5' },
    requests: { type: 'string', default: '200' },
  },
});
prepareBench({ peers: false });
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

async function waitFor(url: string, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`vitrine serve exited with code ${child.exitCode}`);
    if (await fetch(url).then((r) => r.ok).catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not answer`);
}

const small = path.join(BENCH_DIR, 'manifests', 'data-1000');
const large = path.join(BENCH_DIR, 'manifests', 'data-10000');
await syntheticData(small, 1000, 4);
await syntheticData(large, 10000, 4);

// 1. The 1,000-page manifest over HTTP.
const port = 8197;
const origin = `http://127.0.0.1:${port}`;
const manifest3 = `${origin}/iiif/manifest/book`;
const manifest2 = `${origin}/iiif/presentation/2/manifest/book`;

/** One request, timed to the last byte; anything but a 200 fails the benchmark. */
async function time(url: string, headers: Record<string, string> = {}): Promise<{ ms: number; body: Buffer }> {
  const started = performance.now();
  const response = await fetch(url, { headers });
  const body = Buffer.from(await response.arrayBuffer());
  if (response.status !== 200) throw new Error(`${url}: ${response.status} ${body.toString().slice(0, 200)}`);
  return { ms: performance.now() - started, body };
}

/** The answer must be the book's manifest: 1,000 canvases (3.0 items, or 2.1 sequences[0].canvases). */
function checkManifest(body: Buffer, url: string): void {
  const document = JSON.parse(body.toString()) as { type?: string; '@type'?: string; items?: unknown[]; sequences?: { canvases?: unknown[] }[] };
  const canvases = document.items ?? document.sequences?.[0]?.canvases ?? [];
  const type = document.type ?? document['@type'];
  if ((type !== 'Manifest' && type !== 'sc:Manifest') || canvases.length !== 1000) throw new Error(`${url}: a ${type} with ${canvases.length} canvases, expected a Manifest with 1000`);
}

async function withServer<T>(work: () => Promise<T>): Promise<T> {
  const server = spawn(process.execPath, [CLI, 'serve', '--data', large, '--port', String(port), '--log-level', 'warn'], { stdio: ['ignore', 'ignore', 'inherit'] });
  try {
    await waitFor(`${origin}/health`, server);
    return await work();
  } finally {
    const exited = new Promise((resolve) => server.once('exit', resolve));
    server.kill('SIGTERM');
    await exited;
  }
}

const cold: number[] = [];
const cold2: number[] = [];
let bytes = 0;
for (let i = 0; i < Number(args.starts); i++) {
  await withServer(async () => {
    const first = await time(manifest3);
    checkManifest(first.body, manifest3);
    cold.push(first.ms);
    bytes = first.body.byteLength;
    const first2 = await time(manifest2);
    checkManifest(first2.body, manifest2);
    cold2.push(first2.ms);
  });
}
const warm = await withServer(async () => {
  checkManifest((await time(manifest3)).body, manifest3);
  const identity: number[] = [];
  const gzip: number[] = [];
  for (let i = 0; i < Number(args.requests); i++) identity.push((await time(manifest3)).ms);
  for (let i = 0; i < Number(args.requests); i++) gzip.push((await time(manifest3, { 'accept-encoding': 'gzip' })).ms);
  return { identity, gzip };
});
const summary = (xs: number[]): string => `median ${median(xs).toFixed(1)} ms, p95 ${quantile(xs, 0.95).toFixed(1)} ms`;
console.log(`\n1,000-page manifest (${(bytes / 1024).toFixed(0)} KB of JSON), one connection, catalog of 10,001 objects:`);
console.log(`  cold: first request after start (${cold.length} starts)    median ${median(cold).toFixed(1)} ms, max ${Math.max(...cold).toFixed(1)} ms`);
console.log(`  then the 2.1 form, not yet built               median ${median(cold2).toFixed(1)} ms, max ${Math.max(...cold2).toFixed(1)} ms`);
console.log(`  warm (${args.requests} in a row), identity                 ${summary(warm.identity)}`);
console.log(`  warm (${args.requests} in a row), gzip                     ${summary(warm.gzip)}`);
console.log(`  target < 100 ms (p95, warm, identity): ${quantile(warm.identity, 0.95) < 100 ? 'met' : 'NOT met'}; cold median < 100 ms: ${median(cold) < 100 ? 'met' : 'NOT met'}`);

// 2. Static export: wall time and peak RSS for 1,000 and 10,000 objects.
console.log('\nstatic export (vitrine manifests), 4-page objects in box/folder collections:');
for (const [objects, data] of [
  [1000, small],
  [10000, large],
] as const) {
  const out = path.join(BENCH_DIR, 'manifests', `export-${objects}`);
  await rm(out, { recursive: true, force: true });
  const started = performance.now();
  const { stderr } = await run('/usr/bin/time', ['-f', 'RSS=%M', process.execPath, CLI, 'manifests', '--data', data, '--base-url', 'https://iiif.example.org', '--out', out], {
    maxBuffer: 64 << 20,
  });
  const seconds = (performance.now() - started) / 1000;
  const written = Number(/wrote (\d+) manifests/.exec(stderr)?.[1]);
  if (written !== objects + 1) throw new Error(`vitrine manifests wrote ${written} manifests, expected ${objects + 1}:\n${stderr.slice(-1000)}`);
  const rss = Number(/RSS=(\d+)/.exec(stderr)?.[1]) / 1024;
  console.log(`  ${String(objects + 1).padStart(6)} manifests  ${seconds.toFixed(1).padStart(5)} s  ${((objects + 1) / seconds).toFixed(0).padStart(5)} manifests/s  peak RSS ${rss.toFixed(0)} MB`);
}
