/**
 * Soak: a real `vitrine serve` (the built CLI, a process of its own, on loopback) under mixed load
 * for a fixed time, its memory and descriptors sampled throughout.
 *
 *   npm run soak                       # 10 minutes, 8 connections
 *   npm run soak -- --minutes 2 --connections 4
 *
 * The mix, over a generated data folder (the 6000×4500 pyramidal TIFF of the other benchmarks, a
 * small PNG, and a catalog of 60 objects in box/folder collections): aligned deep-zoom tiles,
 * arbitrary regions (some heavy), info.json 3.0 and 2.1, manifests 3.0 and 2.1, collections,
 * conditional requests answered 304, and intended errors (404 unknown identifiers and objects, 400
 * bad syntax). Every request states the status it must get; any other answer, or none, is an error.
 * Every 10 s the server's RSS (/proc/PID/status) and open descriptors (/proc/PID/fd) are sampled.
 *
 * Prints the RSS and descriptor curve, p50/p95/p99 per kind, counts by status and the errors, and
 * cross-checks the server's own /metrics against what was sent. Exits 1 when: any unintended
 * error; RSS grew more than 10 % from the end of the warm-up (the first 20 % of the run: 2 of 10
 * minutes) to the end (each the median of three samples); descriptors were not flat after the warm-up (more than 4 above their level
 * at its end: sockets come and go).
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { Catalog } from '../src/catalog/catalog.js';
import { BENCH_DIR, benchImage } from './lib/fixture.js';
import { CLI, ROOT } from './lib/setup.js';
import { quantile } from './lib/stats.js';
import { openSeadragonTiles, randomRegions } from './lib/urls.js';

const { values: args } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    connections: { type: 'string', default: '8' },
    'sample-seconds': { type: 'string', default: '10' },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  console.log('usage: npm run soak [-- --minutes 10 --connections 8 --sample-seconds 10]');
  process.exit(0);
}
const minutes = Number(args.minutes);
const connections = Number(args.connections);
const sampleSeconds = Number(args['sample-seconds']);
if (!(minutes > 0) || !(connections > 0) || !(sampleSeconds > 0)) {
  console.error('soak: --minutes, --connections and --sample-seconds must be positive numbers');
  process.exit(2);
}
const THRESHOLDS = { rssGrowth: 0.1, fdSlack: 4 };

// 1. A fresh build (a dist/ older than the sources would soak code that is no longer there), and the data.
execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
const data = path.join(BENCH_DIR, 'soak', 'data');
const OBJECTS = 60;
const PAGES = 4;
async function soakData(): Promise<void> {
  if (existsSync(path.join(data, 'catalog.sqlite'))) return;
  await rm(data, { recursive: true, force: true });
  await mkdir(path.join(data, 'images'), { recursive: true });
  await copyFile(await benchImage(), path.join(data, 'images', 'bench.tif'));
  await sharp(path.join(ROOT, 'test/fixtures/67352ccc-d1b0-11e1-89ae-279075081939.png')).toFile(path.join(data, 'images', 'ref.png'));
  const catalog = new Catalog(path.join(data, 'catalog.sqlite'));
  for (let i = 0; i < OBJECTS; i++) {
    const id = `box-${Math.floor(i / 10)}/folder-${i % 10}`;
    const pages: { sourcePath: string; sourcePage: number }[] = [];
    for (let n = 1; n <= PAGES; n++) {
      const sourcePath = `/masters/${id}/${n}.tif`;
      catalog.recordPage({
        objectId: id,
        sequence: n,
        identifier: `${id}/${n}`,
        sourcePath,
        sourcePage: 0,
        sourceSize: 1,
        sourceMtimeMs: 1_700_000_000_000,
        sourceSha256: '0'.repeat(64),
        settings: '{}',
        derivativePath: path.join(data, 'images', id, `${n}.tif`),
        width: 6000,
        height: 4500,
        convertedAt: new Date(0).toISOString(),
      });
      pages.push({ sourcePath, sourcePage: 0 });
    }
    catalog.setObjectPages({ id, folder: id }, pages);
  }
  catalog.close();
}
await soakData();

// 2. The server, on a free loopback port, logging as in production (access log on, to /dev/null).
const port = await new Promise<number>((resolve) => {
  const probe = createServer().listen(0, '127.0.0.1', () => {
    const { port: free } = probe.address() as { port: number };
    probe.close(() => resolve(free));
  });
});
const origin = `http://127.0.0.1:${port}`;
const child = spawn(process.execPath, [CLI, 'serve', '--data', data, '--port', String(port), '--host', '127.0.0.1'], { stdio: ['ignore', 'ignore', 'inherit'] });
let exited = false;
child.once('exit', () => (exited = true));
for (let i = 0; ; i++) {
  if (exited) throw new Error('vitrine serve exited before answering');
  if (await fetch(`${origin}/health`).then((r) => r.ok).catch(() => false)) break;
  if (i > 300) throw new Error('vitrine serve did not answer /health within 30 s');
  await sleep(100);
}
const pid = child.pid!;

// 3. The mix: each entry is a kind, a weight, and a request with the status it must get.
interface Ask {
  readonly kind: string;
  readonly path: string;
  readonly status: number;
  readonly headers?: Record<string, string>;
}
let seed = 20261130;
const random = (): number => {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const tiles = openSeadragonTiles(6000, 4500).map((t) => `/iiif/3/bench.tif/${t.region}/${t.size3}/0/default.jpg`);
const regions = [
  ...randomRegions(6000, 4500, 200).map((r) => `/iiif/3/bench.tif/${r.region}/${r.size3}/${r.rotation ?? '0'}/${r.quality ?? 'default'}.jpg`),
  '/iiif/3/bench.tif/full/1500,/0/default.jpg',
  '/iiif/2/bench.tif/pct:10,10,50,50/1200,/90/gray.png',
  '/iiif/3/ref.png/100,100,400,300/200,/0/default.webp',
];
const objects = Array.from({ length: OBJECTS }, (_, i) => `box-${Math.floor(i / 10)}/folder-${i % 10}`);
/** ETags seen, to ask again conditionally (a 304 each). */
const etags = new Map<string, string>();
const MIX: Array<{ weight: number; make: () => Ask }> = [
  { weight: 45, make: () => ({ kind: 'tile', path: pick(tiles), status: 200 }) },
  { weight: 8, make: () => ({ kind: 'region', path: pick(regions), status: 200 }) },
  { weight: 6, make: () => ({ kind: 'info 3.0', path: '/iiif/3/bench.tif/info.json', status: 200 }) },
  { weight: 4, make: () => ({ kind: 'info 2.1', path: '/iiif/2/bench.tif/info.json', status: 200 }) },
  { weight: 6, make: () => ({ kind: 'manifest', path: `/iiif/manifest/${pick(objects)}`, status: 200 }) },
  { weight: 3, make: () => ({ kind: 'manifest', path: `/iiif/presentation/2/manifest/${pick(objects)}`, status: 200 }) },
  { weight: 4, make: () => ({ kind: 'collection', path: pick(['/iiif/collection/top', `/iiif/collection/box-${Math.floor(random() * 6)}`]), status: 200 }) },
  {
    weight: 12,
    make: () => {
      const seen = [...etags.keys()];
      if (seen.length === 0) return { kind: 'tile', path: pick(tiles), status: 200 };
      const url = pick(seen);
      return { kind: '304', path: url, status: 304, headers: { 'If-None-Match': etags.get(url)! } };
    },
  },
  { weight: 4, make: () => ({ kind: 'error', path: `/iiif/3/no-such-${Math.floor(random() * 1e6)}.tif/info.json`, status: 404 }) },
  { weight: 2, make: () => ({ kind: 'error', path: `/iiif/manifest/no/such/object-${Math.floor(random() * 1e6)}`, status: 404 }) },
  { weight: 4, make: () => ({ kind: 'error', path: pick(['/iiif/3/bench.tif/full/max/0/default.xyz', '/iiif/3/bench.tif/0,0,0,0/max/0/default.jpg', '/iiif/3/bench.tif/full/max/500/default.jpg']), status: 400 }) },
];
const totalWeight = MIX.reduce((n, m) => n + m.weight, 0);
function nextAsk(): Ask {
  let r = random() * totalWeight;
  for (const m of MIX) if ((r -= m.weight) < 0) return m.make();
  return MIX[0]!.make();
}

// 4. Load and sampling.
const latencies = new Map<string, number[]>();
const statuses = new Map<number, number>();
const errors: string[] = [];
let errorCount = 0;
let sent = 0;
const started = performance.now();
const endAt = started + minutes * 60_000;

async function worker(): Promise<void> {
  while (performance.now() < endAt) {
    const ask = nextAsk();
    const t0 = performance.now();
    sent++;
    try {
      const response = await fetch(`${origin}${ask.path}`, { headers: ask.headers ?? {}, signal: AbortSignal.timeout(30_000) });
      await response.arrayBuffer();
      const ms = performance.now() - t0;
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
      if (response.status !== ask.status) {
        errorCount++;
        if (errors.length < 20) errors.push(`${ask.path}: ${response.status}, expected ${ask.status}`);
      } else {
        (latencies.get(ask.kind) ?? latencies.set(ask.kind, []).get(ask.kind)!).push(ms);
        const etag = response.headers.get('etag');
        if (etag && response.status === 200 && ask.kind !== '304' && etags.size < 500) etags.set(ask.path, etag);
      }
    } catch (error) {
      errorCount++;
      if (errors.length < 20) errors.push(`${ask.path}: ${(error as Error).message}`);
    }
  }
}

interface Sample {
  readonly seconds: number;
  readonly rssMb: number;
  readonly fds: number;
  /** From the server's /metrics: V8 heap in use and memory held outside it (Buffers), to tell a JavaScript leak from native growth. */
  heapMb?: number;
  externalMb?: number;
}
const samples: Sample[] = [];
const metricMb = (text: string, name: string): number | undefined => {
  const value = new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1];
  return value === undefined ? undefined : Number(value) / 2 ** 20;
};
function sample(): void {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
  const taken: Sample = { seconds: Math.round((performance.now() - started) / 1000), rssMb: rssKb / 1024, fds: readdirSync(`/proc/${pid}/fd`).length };
  samples.push(taken);
  void fetch(`${origin}/metrics`)
    .then((r) => r.text())
    .then((text) => {
      taken.heapMb = metricMb(text, 'nodejs_heap_size_used_bytes');
      taken.externalMb = metricMb(text, 'nodejs_external_memory_bytes');
    })
    .catch(() => undefined);
}
sample();
const sampler = setInterval(sample, sampleSeconds * 1000);
console.log(`soak: ${minutes} min, ${connections} connections, against ${origin} (pid ${pid}); sampling every ${sampleSeconds} s`);
await Promise.all(Array.from({ length: connections }, () => worker()));
clearInterval(sampler);
sample();
await sleep(500); // the last sample's /metrics read

// 5. The server's own count, then stop it as an operator would (SIGTERM: it must exit 0).
const exposition = await (await fetch(`${origin}/metrics`)).text();
const counted = [...exposition.matchAll(/^vitrine_http_requests_total\{[^}]*kind="(?!metrics)[^"]*"[^}]*\} (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
child.kill('SIGTERM');
const exitCode = await new Promise<number | null>((resolve) => (exited ? resolve(child.exitCode) : child.once('exit', (code) => resolve(code))));

// 6. Report.
const warmupSeconds = minutes * 60 * 0.2;
const warmIndex = Math.max(0, samples.findIndex((s) => s.seconds >= warmupSeconds));
const warm = samples[warmIndex]!;
const last = samples.at(-1)!;
// RSS swings by tens of MB between samples (a heavy render's buffers come and go): each end is the
// median of three samples (the first three from the end of warm-up, the last three).
const median3 = (xs: readonly Sample[]): number => [...xs].map((s) => s.rssMb).sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
const rssWarm = median3(samples.slice(warmIndex, warmIndex + 3));
const rssEnd = median3(samples.slice(-3));
const growth = (rssEnd - rssWarm) / rssWarm;
const fdsAfter = samples.filter((s) => s.seconds >= warm.seconds).map((s) => s.fds);
const fdRise = Math.max(...fdsAfter) - warm.fds;

console.log('\nRSS and descriptors (every sample):');
console.log('   t (s)   RSS (MB)   fds   heap used (MB)   external (MB)');
const mb = (x: number | undefined, width: number): string => (x === undefined ? '–' : x.toFixed(1)).padStart(width);
for (const s of samples) {
  console.log(`${String(s.seconds).padStart(8)} ${s.rssMb.toFixed(1).padStart(10)} ${String(s.fds).padStart(5)} ${mb(s.heapMb, 16)} ${mb(s.externalMb, 15)}${s === warm ? '   ← end of warm-up' : ''}`);
}
console.log('\nLatency by kind (ms):');
console.log('  kind           count     p50     p95     p99');
for (const [kind, xs] of [...latencies].sort()) {
  console.log(`  ${kind.padEnd(12)} ${String(xs.length).padStart(7)} ${quantile(xs, 0.5).toFixed(1).padStart(7)} ${quantile(xs, 0.95).toFixed(1).padStart(7)} ${quantile(xs, 0.99).toFixed(1).padStart(7)}`);
}
const seconds = (performance.now() - started) / 1000;
console.log(`\nRequests: ${sent} in ${seconds.toFixed(0)} s (${(sent / seconds).toFixed(0)}/s); by status: ${[...statuses].sort().map(([s, n]) => `${s}: ${n}`).join(', ')}`);
console.log(`Server's /metrics counted ${counted} requests (the soak sent ${sent}, plus its /health probes)`);
console.log(`Unintended errors: ${errorCount}${errors.length ? `\n  ${errors.join('\n  ')}` : ''}`);

const failures: string[] = [];
if (errorCount > 0) failures.push(`${errorCount} unintended errors`);
if (growth > THRESHOLDS.rssGrowth) failures.push(`RSS grew ${(growth * 100).toFixed(1)} % after warm-up (limit ${THRESHOLDS.rssGrowth * 100} %)`);
if (fdRise > THRESHOLDS.fdSlack) failures.push(`descriptors rose by ${fdRise} after warm-up (limit ${THRESHOLDS.fdSlack})`);
if (counted < sent) failures.push(`/metrics counted ${counted} requests, fewer than the ${sent} sent`);
if (exitCode !== 0) failures.push(`the server exited ${exitCode} on SIGTERM, not 0`);
console.log(
  `\nRSS (median of 3 samples) ${rssWarm.toFixed(1)} MB from the end of warm-up (${warm.seconds} s) → ${rssEnd.toFixed(1)} MB at the end (${last.seconds} s): ${growth >= 0 ? '+' : ''}${(growth * 100).toFixed(1)} % (limit +10 %); ` +
    `descriptors ${warm.fds} → at most ${Math.max(...fdsAfter)} (limit +${THRESHOLDS.fdSlack}); SIGTERM exit ${exitCode}`,
);
console.log(failures.length ? `FAIL: ${failures.join('; ')}` : 'PASS');
process.exit(failures.length ? 1 : 0);
