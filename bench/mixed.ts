/**
 * Deep zoom under heavy load: one Vitrine server, 8 connections asking aligned OpenSeadragon tiles
 * of the 6000×4500 pyramidal TIFF while 8 other connections ask heavy renders (large WebP/PNG,
 * rotations, grey, bitonal), for a fixed time. Samples the server's RSS throughout and after.
 *
 *   npm run bench:mixed                         # 30 s of load, then 10 s to settle
 *   npm run bench:mixed -- --seconds 60 --serve-args="--heavy-concurrency 1"
 *
 * Prints tile p50/p99 (alone and under the mix), timeouts and errors, heavy requests served and
 * 503s, peak RSS and RSS after the load. Exits 1 when any response is an error other than the
 * intended 503 (busy) answers to heavy requests, or when a tile times out (wrk --timeout 2 s).
 * Targets (issue 14): tile p99 < 250 ms, no timeouts, peak RSS < 1 GB, RSS after < 600 MB.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { BENCH_DIR, benchImage } from './lib/fixture.js';
import { startVitrine } from './lib/peers.js';
import { openSeadragonTiles } from './lib/urls.js';
import { wrk, writeScript, writeStatusScript, type WrkResult } from './lib/wrk.js';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '30' },
    settle: { type: 'string', default: '10' },
    'serve-args': { type: 'string', default: '' },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  console.log('usage: npm run bench:mixed [-- --seconds 30 --settle 10 --serve-args="--heavy-concurrency 2 …"]');
  process.exit(0);
}
const seconds = Number(args.seconds);
const settle = Number(args.settle);
const serveArgs = args['serve-args'].split(/\s+/).filter(Boolean);

/** Heavy requests: each decodes megapixels and encodes a large image (the reviewer's mix and its kind). */
const HEAVY = [
  'full/1500,/33/default.webp',
  'pct:10,10,60,60/2000,/!47/gray.png',
  'full/2000,/90/default.png',
  'full/3000,/0/default.png',
  '0,0,4000,3000/1600,/180/default.webp',
  'full/1200,/!15/default.png',
  'pct:20,20,50,50/1800,/270/color.jpg',
  '1000,1000,3000,2000/2000,/0/bitonal.png',
  'full/2400,/0/default.webp',
  'full/!1800,1800/5/default.jpg',
];
const TARGETS = { tileP99Ms: 250, peakRssMb: 1024, afterRssMb: 600 };

const root = path.resolve(import.meta.dirname, '..');
execFileSync('bash', [path.join(root, 'scripts/install-bench-deps.sh')], { stdio: 'inherit' });
if (!existsSync(path.join(root, 'dist/cli/index.js'))) execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });

const image = await benchImage();
const { width = 0, height = 0 } = await sharp(image).metadata();
const work = path.join(BENCH_DIR, 'run');
await mkdir(work, { recursive: true });

/** Resident set size of a process in MB (Linux /proc), or NaN once it is gone. */
function rssMb(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = /^VmRSS:\s+(\d+) kB/m.exec(status);
    return kb ? Number(kb[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

const server = await startVitrine(path.dirname(image), 18184, { caches: true, args: serveArgs });
process.on('SIGINT', () => void server.stop().then(() => process.exit(130)));
const pid = server.pid!;
try {
  const tilePaths = openSeadragonTiles(width, height).map((r) => server.path(r.region, r.size3, r.size2));
  const heavyPaths = HEAVY.map((h) => `/iiif/3/bench.tif/${h}`);
  // Every request must be answerable before anything is timed.
  for (const p of [tilePaths[0]!, tilePaths.at(-1)!, ...heavyPaths]) {
    const res = await fetch(server.origin + p);
    const body = Buffer.from(await res.arrayBuffer());
    if (res.status !== 200) throw new Error(`${p}: ${res.status} ${body.toString().slice(0, 200)}`);
    await sharp(body).metadata();
  }
  const tileFile = path.join(work, 'mixed-tiles.txt');
  const heavyFile = path.join(work, 'mixed-heavy.txt');
  await writeFile(tileFile, tilePaths.join('\n') + '\n');
  await writeFile(heavyFile, heavyPaths.join('\n') + '\n');
  const script = await writeScript(work);
  const statusScript = await writeStatusScript(work);
  const tileOptions = { connections: 8, threads: 1, latency: true, timeoutSeconds: 2 };

  const rssAtStart = rssMb(pid);
  const alone = await wrk(server.origin, tileFile, script, { ...tileOptions, seconds: 5 });

  let peak = rssAtStart;
  const sampler = setInterval(() => {
    const rss = rssMb(pid);
    if (rss > peak) peak = rss;
  }, 100);
  const load = loadavg()[0]!;
  const [tiles, heavy] = await Promise.all([
    wrk(server.origin, tileFile, statusScript, { ...tileOptions, seconds }),
    // Heavy requests may wait in the server's queue: only a stuck one (30 s) counts as a timeout.
    wrk(server.origin, heavyFile, statusScript, { connections: 8, threads: 1, seconds, latency: true, timeoutSeconds: 30 }),
  ]);
  await sleep(settle * 1000);
  clearInterval(sampler);
  const after = rssMb(pid);
  peak = Math.max(peak, after);

  const line = (name: string, r: WrkResult): string =>
    `${name.padEnd(22)} ${r.requestsPerSecond.toFixed(1).padStart(8)} req/s  p50 ${fmt(r.percentiles[50])}  p99 ${fmt(r.percentiles[99])}  ` +
    `timeouts ${r.timeouts}  statuses ${JSON.stringify(r.statuses)}`;
  console.log(`\n${width}×${height} pyramidal TIFF, ${seconds} s of 8 tile + 8 heavy connections (loopback); load average before: ${load.toFixed(2)}${serveArgs.length ? `; serve ${serveArgs.join(' ')}` : ''}\n`);
  console.log(line('tiles alone (5 s)', alone));
  console.log(line('tiles under the mix', tiles));
  console.log(line('heavy', heavy));
  const served = heavy.statuses[200] ?? 0;
  const busy = heavy.statuses[503] ?? 0;
  const heavyErrors = heavy.timeouts + Object.entries(heavy.statuses).reduce((n, [s, c]) => n + (s === '200' || s === '503' ? 0 : c), 0);
  const tileErrors = tiles.errors + Object.entries(tiles.statuses).reduce((n, [s, c]) => n + (s === '200' ? 0 : c), 0);
  console.log(`\nheavy requests served ${served}, answered 503 (busy) ${busy}, other errors ${heavyErrors}; tile errors and timeouts ${tileErrors}`);
  console.log(`RSS: ${rssAtStart.toFixed(0)} MB at start, peak ${peak.toFixed(0)} MB, ${after.toFixed(0)} MB ${settle} s after the load`);

  const tileP99 = tiles.percentiles[99] ?? Number.POSITIVE_INFINITY;
  const checks = [
    [`tile p99 ${tileP99.toFixed(0)} ms < ${TARGETS.tileP99Ms} ms`, tileP99 < TARGETS.tileP99Ms],
    [`peak RSS ${peak.toFixed(0)} MB < ${TARGETS.peakRssMb} MB`, peak < TARGETS.peakRssMb],
    [`RSS after ${after.toFixed(0)} MB < ${TARGETS.afterRssMb} MB`, after < TARGETS.afterRssMb],
  ] as const;
  for (const [what, met] of checks) console.log(`  ${met ? 'met    ' : 'NOT met'} ${what}`);
  const out = path.join(BENCH_DIR, 'results-mixed.json');
  await writeFile(out, JSON.stringify({ date: new Date().toISOString(), seconds, serveArgs, load, alone, tiles, heavy, rss: { start: rssAtStart, peak, after } }, null, 2));
  console.log(`\nresults: ${out}`);
  if (heavyErrors > 0 || tileErrors > 0 || heavy.errors - busy > heavy.timeouts) {
    console.error('FAILED: responses other than 200 (and 503 for heavy requests), or timeouts');
    process.exitCode = 1;
  }
} finally {
  await server.stop();
}

function fmt(ms: number | undefined): string {
  return ms === undefined ? '   n/a' : `${ms.toFixed(1).padStart(6)} ms`;
}
