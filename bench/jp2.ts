/**
 * JPEG 2000 deep-zoom latency: Vitrine serving a tiled 6000×4500 JP2, one connection, against one
 * `opj_decompress -d` region decode per request (OpenJPEG's own tool, Debian libopenjp2-tools) on
 * the same file, same regions, same reduce factors, in the same run.
 *
 *   npm run bench:jp2                       # every OpenSeadragon tile URL, 3 rounds
 *   npm run bench:jp2 -- --rounds 1 --sample 200
 *
 * Like for like, the headline:
 * - Vitrine without its decoded-block cache (--jp2-cache-mb 0): each request decodes its own area,
 *   as opj_decompress does;
 * - the same OpenJPEG threads: `opj_decompress -threads N` with N what Vitrine's decoder gives that
 *   area (jp2DecodeThreads: 1 for a tile);
 * - before timing, a sample of tiles from both is decoded and compared (dimensions, mean difference).
 * Vitrine answers over HTTP with a JPEG (decode, scale, encode, send); opj_decompress writes the
 * decoded region as a PPM (no compression) and pays a process start. The ratio says what serving in
 * process costs against a process per request, the pattern of servers that shell out.
 * Beside it, labelled: Vitrine with its default block cache (decodes the whole codestream tile around
 * a request, with several threads when it is large, and serves its neighbours from memory), first
 * pass over the tiles (empty cache) and second pass (every block cached).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { link, mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { jp2DecodeThreads } from '../src/imaging/jp2/decoder.js';
import { BENCH_DIR, benchJp2 } from './lib/fixture.js';
import { comparePictures } from './lib/pixels.js';
import { CLI, prepareBench } from './lib/setup.js';
import { describeMs, mean, median } from './lib/stats.js';
import { openSeadragonTiles, sampleOf, type BenchRequest } from './lib/urls.js';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    sample: { type: 'string', default: '0' },
    check: { type: 'string', default: '50' },
    decoder: { type: 'string', default: 'native' },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  console.log('usage: npm run bench:jp2 [-- --rounds 3 --sample N (0: every tile) --check 50 (tiles compared) --decoder native|wasm]');
  process.exit(0);
}
const rounds = Number(args.rounds);
prepareBench({ peers: true });

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
/** Mean difference per sample allowed between Vitrine's JPEG (quality 80) and OpenJPEG's exact pixels: measured ≤ 3.3; the neighbouring tile differs by 22, the same tile 1 px off by 4.1. */
const TOLERANCE = 5;

/** The opj_decompress arguments that decode what a tile request needs: its area, at its reduce factor, with Vitrine's threads. */
function opjArgs(request: BenchRequest, output: string): string[] {
  const [w, h] = request.size3.split(',').map(Number);
  const [x, y, rw, rh] = request.region === 'full' ? [0, 0, width, height] : request.region.split(',').map(Number);
  const reduce = Math.min(5, Math.max(0, Math.floor(Math.log2(rw! / w!) + 1e-9)));
  const threads = jp2DecodeThreads(w! * h!);
  return ['-i', image, '-o', output, '-d', `${x},${y},${x! + rw!},${y! + rh!}`, '-r', String(reduce), '-threads', String(threads), '-quiet'];
}

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
    [CLI, 'serve', '--images', path.dirname(image), '--port', String(port), '--log-level', 'warn', '--jp2-decoder', args.decoder!, '--jp2-cache-mb', String(cacheMb)],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const origin = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (i > 100) throw new Error('vitrine did not start');
    if (child.exitCode !== null) throw new Error(`vitrine exited with code ${child.exitCode}`);
    if (await fetch(`${origin}/health`).then((r) => r.ok).catch(() => false)) break;
    await sleep(100);
  }
  for (const request of requests.slice(0, 40)) await get(urlOf(origin, request, 'warm.jp2'));
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

/** The body of a 200 JPEG answer; anything else fails the benchmark. */
async function get(url: string): Promise<Buffer> {
  const response = await fetch(url);
  const body = Buffer.from(await response.arrayBuffer());
  if (!response.ok || body.byteLength === 0) throw new Error(`${url} → ${response.status}: ${body.toString().slice(0, 200)}`);
  return body;
}

/** Milliseconds per request, one at a time, for `passes` passes over the tiles of one fresh server. */
async function timeVitrine(cacheMb: number, passes: number): Promise<number[][]> {
  const server = await startServer(cacheMb, 18190);
  try {
    const result: number[][] = [];
    for (let pass = 0; pass < passes; pass++) {
      const times: number[] = [];
      for (const request of requests) {
        const started = performance.now();
        await get(urlOf(server.origin, request));
        times.push(performance.now() - started);
      }
      result.push(times);
    }
    return result;
  } finally {
    await server.stop();
  }
}

function runOpj(request: BenchRequest, output: string): void {
  const result = spawnSync('opj_decompress', opjArgs(request, output), { stdio: ['ignore', 'ignore', 'pipe'] });
  if (result.status !== 0) throw new Error(`opj_decompress ${opjArgs(request, output).join(' ')} failed: ${result.stderr.toString().trim()}`);
}

function timeOpj(): number[] {
  const output = path.join(work, 'opj.ppm');
  const times: number[] = [];
  for (const request of requests) {
    const started = performance.now();
    runOpj(request, output);
    times.push(performance.now() - started);
  }
  return times;
}

/** Both sides must give the same picture for a sample of tiles before anything is timed. */
async function check(): Promise<void> {
  const picked = sampleOf(requests, Number(args.check));
  const output = path.join(work, 'opj-check.png');
  let worst = 0;
  for (const cacheMb of [0, 128]) {
    const server = await startServer(cacheMb, 18191);
    try {
      for (const request of picked) {
        const ours = await get(urlOf(server.origin, request));
        runOpj(request, output);
        const { meanDifference } = await comparePictures(ours, output, `${request.region}/${request.size3}`);
        if (meanDifference > TOLERANCE) {
          throw new Error(`${request.region}/${request.size3} (cache ${cacheMb} MB): mean difference ${meanDifference.toFixed(2)} against opj_decompress > ${TOLERANCE}`);
        }
        worst = Math.max(worst, meanDifference);
      }
    } finally {
      await server.stop();
    }
  }
  await rm(output, { force: true });
  console.log(
    `checked ${picked.length} random tiles, Vitrine with and without its block cache against opj_decompress: same dimensions, ` +
      `mean difference per sample ≤ ${worst.toFixed(2)} (JPEG quality 80 against exact pixels; allowed ${TOLERANCE})\n`,
  );
}

try {
  console.log(`${requests.length} tile requests over 6 resolution levels of ${image} (6000×4500, 1024 tiles, 9/7 20:1, RPCL)`);
  console.log(`OpenJPEG threads per tile, both sides: ${jp2DecodeThreads(256 * 256)} (opj_decompress -threads ${jp2DecodeThreads(256 * 256)})`);
  console.log('each round: a fresh Vitrine without block cache (--jp2-cache-mb 0), opj_decompress, a fresh Vitrine with its default 128 MB cache (two passes)\n');
  await check();
  const headline: number[] = [];
  const cachedCold: number[] = [];
  const cachedWarm: number[] = [];
  for (let round = 1; round <= rounds; round++) {
    const [direct] = await timeVitrine(0, 1);
    const theirs = timeOpj();
    const [cold, warm] = await timeVitrine(128, 2);
    headline.push(mean(direct!) / mean(theirs));
    cachedCold.push(mean(cold!) / mean(theirs));
    cachedWarm.push(mean(warm!) / mean(theirs));
    console.log(`round ${round}: vitrine, no block cache          ${describeMs(direct!)}`);
    console.log(`         opj_decompress                      ${describeMs(theirs)}`);
    console.log(`         vitrine, block cache, 1st pass      ${describeMs(cold!)}`);
    console.log(`         vitrine, block cache, 2nd pass      ${describeMs(warm!)}`);
    console.log(`         ratios (mean latency, vitrine / opj_decompress): no cache ${headline.at(-1)!.toFixed(2)}×; cached ${cachedCold.at(-1)!.toFixed(2)}× cold, ${cachedWarm.at(-1)!.toFixed(2)}× warm`);
  }
  const fair = median(headline);
  console.log(
    `\nJP2 tile latency, vitrine / opj_decompress, no block cache, same threads: ${fair.toFixed(2)}× (median of ${rounds} rounds; target ≤ 0.5×: ${fair <= 0.5 ? 'met' : 'NOT met'})`,
  );
  console.log(`  with Vitrine's block cache (128 MB): ${median(cachedCold).toFixed(2)}× on the first pass, ${median(cachedWarm).toFixed(2)}× once every block is cached`);
} finally {
  await rm(path.join(work, 'opj.ppm'), { force: true });
}
