/**
 * JPEG 2000 deep-zoom latency: Vitrine serving a tiled 6000×4500 JP2, one connection, against one
 * `opj_decompress -d` region decode per request (OpenJPEG's own tool, Debian libopenjp2-tools) on
 * the same file, same regions, same reduce factors, in the same run.
 *
 *   npm run bench:jp2                       # every OpenSeadragon tile URL, 3 rounds
 *   npm run bench:jp2 -- --rounds 1 --sample 200
 *
 * Vitrine answers over HTTP with a JPEG (decode, scale, encode, send); opj_decompress writes the
 * decoded region as a PPM (no compression). Both decode the same code-blocks; the ratio says what
 * serving in process costs against a process per request, the pattern of servers that shell out.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { link, mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { BENCH_DIR, benchJp2 } from './lib/fixture.js';
import { openSeadragonTiles, type BenchRequest } from './lib/urls.js';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    sample: { type: 'string', default: '0' },
    decoder: { type: 'string', default: 'native' },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  console.log('usage: npm run bench:jp2 [-- --rounds 3 --sample N (0: every tile) --decoder native|wasm]');
  process.exit(0);
}
const rounds = Number(args.rounds);
const root = path.resolve(import.meta.dirname, '..');
execFileSync('bash', [path.join(root, 'scripts/install-bench-deps.sh')], { stdio: 'inherit' });
if (!existsSync(path.join(root, 'dist/cli/index.js'))) execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });

const image = await benchJp2();
const width = 6000;
const height = 4500;
let requests = openSeadragonTiles(width, height);
const sample = Number(args.sample);
if (sample > 0 && sample < requests.length) {
  const step = requests.length / sample;
  requests = Array.from({ length: sample }, (_, i) => requests[Math.floor(i * step)]!);
}
const work = path.join(BENCH_DIR, 'run');
await mkdir(work, { recursive: true });

/** The opj_decompress arguments that decode what a tile request needs: its area, at its reduce factor. */
function opjArgs(request: BenchRequest): string[] {
  const [w] = request.size3.split(',').map(Number);
  const [x, y, rw, rh] = request.region === 'full' ? [0, 0, width, height] : request.region.split(',').map(Number);
  const reduce = Math.min(5, Math.max(0, Math.floor(Math.log2(rw! / w!) + 1e-9)));
  return ['-i', image, '-o', path.join(work, 'opj.ppm'), '-d', `${x},${y},${x! + rw!},${y! + rh!}`, '-r', String(reduce), '-quiet'];
}

const cli = path.join(root, 'dist/cli/index.js');
/** A second name for the same file: warms the server (JIT, headers) without filling its block cache for bench.jp2. */
const warmFile = path.join(path.dirname(image), 'warm.jp2');
if (!existsSync(warmFile)) await link(image, warmFile);

interface Server {
  readonly origin: string;
  stop(): Promise<void>;
}

/** A fresh server (empty block cache), warmed on the other file name. */
async function startServer(cacheMb: number, port: number): Promise<Server> {
  const child = spawn(
    process.execPath,
    [cli, 'serve', '--images', path.dirname(image), '--port', String(port), '--log-level', 'warn', '--jp2-decoder', args.decoder!, '--jp2-cache-mb', String(cacheMb)],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const origin = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (i > 100) throw new Error('vitrine did not start');
    if (await fetch(`${origin}/health`).then((r) => r.ok).catch(() => false)) break;
    await sleep(100);
  }
  for (const request of requests.slice(0, 40)) await fetch(urlOf(origin, request, 'warm.jp2')).then((r) => r.arrayBuffer());
  return {
    origin,
    stop: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

const urlOf = (origin: string, r: BenchRequest, file = 'bench.jp2'): string => `${origin}/iiif/3/${file}/${r.region}/${r.size3}/0/default.jpg`;

/** Milliseconds per request, one at a time, from a fresh server. */
async function timeVitrine(cacheMb: number): Promise<number[]> {
  const server = await startServer(cacheMb, 18190);
  try {
    const times: number[] = [];
    for (const request of requests) {
      const started = performance.now();
      const response = await fetch(urlOf(server.origin, request));
      const body = await response.arrayBuffer();
      times.push(performance.now() - started);
      if (!response.ok || body.byteLength === 0) throw new Error(`${urlOf(server.origin, request)} → ${response.status}`);
    }
    return times;
  } finally {
    await server.stop();
  }
}

function timeOpj(): number[] {
  const times: number[] = [];
  for (const request of requests) {
    const started = performance.now();
    const result = spawnSync('opj_decompress', opjArgs(request), { stdio: 'ignore' });
    times.push(performance.now() - started);
    if (result.status !== 0) throw new Error(`opj_decompress ${opjArgs(request).join(' ')} failed`);
  }
  return times;
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const quantile = (xs: number[], q: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;
const fmt = (xs: number[]): string => `mean ${mean(xs).toFixed(2)} ms, median ${quantile(xs, 0.5).toFixed(2)}, p95 ${quantile(xs, 0.95).toFixed(2)}`;

try {
  console.log(`${requests.length} tile requests over 6 resolution levels of ${image} (6000×4500, 1024 tiles, 9/7 20:1, RPCL)`);
  console.log('each round: a fresh Vitrine with its block cache (default 128 MB), one without (--jp2-cache-mb 0), then opj_decompress\n');
  const ratios: number[] = [];
  const uncached: number[] = [];
  for (let round = 1; round <= rounds; round++) {
    const ours = await timeVitrine(128);
    const direct = await timeVitrine(0);
    const theirs = timeOpj();
    ratios.push(mean(ours) / mean(theirs));
    uncached.push(mean(direct) / mean(theirs));
    console.log(`round ${round}: vitrine ${fmt(ours)}`);
    console.log(`         vitrine, no block cache ${fmt(direct)}`);
    console.log(`         opj_decompress ${fmt(theirs)}`);
    console.log(`         ratios: ${ratios.at(-1)!.toFixed(2)}× (no block cache: ${uncached.at(-1)!.toFixed(2)}×)`);
  }
  const median = quantile(ratios, 0.5);
  console.log(
    `\nJP2 tile latency, vitrine / opj_decompress: ${median.toFixed(2)}× (median of ${rounds} rounds; target ≤ 0.5×: ${median <= 0.5 ? 'met' : 'NOT met'}); ` +
      `without the block cache ${quantile(uncached, 0.5).toFixed(2)}×`,
  );
} finally {
  await rm(path.join(work, 'opj.ppm'), { force: true });
}
