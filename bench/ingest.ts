/**
 * The ingest service against its peer, `vitrine convert`, on the same masters, in the same run:
 *
 *   npm run bench:ingest                                  # 24 masters of 2–6 MP, Redis at 127.0.0.1:6379
 *   npm run bench:ingest -- --pages 36 --rounds 3 --queue redis://127.0.0.1:6379
 *
 * - throughput: pages per minute of `vitrine worker` processes on a BullMQ queue (1 worker, then 2,
 *   one job at a time each) and of the serve's in-process worker on the queue embedded in the
 *   catalog, against `vitrine convert --workers 1` and `--workers 2` (the peer: no queue at all);
 * - the queue's overhead per page: (ingest time − convert time) / pages, for the same parallelism.
 *   The ingest is timed from the POST /api/ingest to the object job's end, workers already running
 *   (the service's steady state); convert is timed as a whole process, its start-up (about a
 *   second of Node and module loading) included, so the overhead is if anything understated;
 * - arrival to manifest: `serve --watch` with two Redis workers, a folder of pages moved into the
 *   masters folder (one rename: it arrives whole), until its manifest answers with every page.
 *   The stability wait (--watch-stable) is part of it and is printed apart.
 * Every run is checked before its time counts: the job (or convert) ends with every page done and
 * none failed, one derivative per page with its master's dimensions, one catalog row per page. Any
 * error fails the benchmark. Round 1 is cold (new processes, the derivatives' folder empty, the
 * masters maybe out of the page cache); the table keeps each side's best of the later rounds (warm).
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import path from 'node:path';
import { parseArgs, promisify } from 'node:util';
import Database from 'better-sqlite3';
import sharp from 'sharp';
import { BullJobQueue } from '../src/ingest/bullmq-queue.js';
import { serveCli, workerCli, type CliServer, type CliWorker } from '../test/helpers/cli.js';
import { BENCH_DIR } from './lib/fixture.js';
import { scanLikeMaster } from './lib/masters.js';
import { CLI, prepareBench } from './lib/setup.js';

const run = promisify(execFile);
const { values: args } = parseArgs({
  options: {
    pages: { type: 'string', default: '24' },
    rounds: { type: 'string', default: '2' },
    queue: { type: 'string', default: 'redis://127.0.0.1:6379' },
    'watch-pages': { type: 'string', default: '6' },
    'watch-stable': { type: 'string', default: '1000' },
  },
});
const pages = Number(args.pages);
const rounds = Math.max(2, Number(args.rounds));
const redisUrl = args.queue;
const watchPages = Number(args['watch-pages']);
const watchStable = Number(args['watch-stable']);
const TOKEN = 'bench-ingest-token-0c9e';
prepareBench({ peers: false });

/** Master sizes, cycled: 2 to 6 megapixels, as scans of letters, folios and maps come. */
const SIZES: readonly [number, number][] = [
  [1700, 1200],
  [2400, 1800],
  [2900, 2100],
  [2000, 1500],
];

const master = scanLikeMaster;

const work = path.join(BENCH_DIR, 'ingest');
const masters = path.join(work, 'masters');
const sizeOf = (n: number): [number, number] => SIZES[(n - 1) % SIZES.length]!;
for (let n = 1; n <= pages; n++) await master(path.join(masters, 'book', `page-${String(n).padStart(3, '0')}.tif`), ...sizeOf(n));
for (const extra of (await readdir(path.join(masters, 'book'))).filter((f) => Number(f.slice(5, 8)) > pages)) await rm(path.join(masters, 'book', extra));
const megapixels = Array.from({ length: pages }, (_, i) => sizeOf(i + 1)).reduce((sum, [w, h]) => sum + (w * h) / 1e6, 0);

/** The run's derivatives and catalog: one row per page of `object`, each derivative its master's size. */
async function check(side: string, data: string, object: string, count: number, size: (n: number) => [number, number]): Promise<void> {
  const db = new Database(path.join(data, 'catalog.sqlite'), { readonly: true });
  const rows = db.prepare('SELECT sequence, derivative_path FROM pages WHERE object_id = ? ORDER BY sequence').all(object) as { sequence: number; derivative_path: string }[];
  db.close();
  if (rows.length !== count) throw new Error(`${side}: ${rows.length} catalog rows for ${object}, expected ${count}`);
  for (const row of rows) {
    const meta = await sharp(row.derivative_path).metadata();
    const [w, h] = size(row.sequence);
    if (meta.width !== w || meta.height !== h) throw new Error(`${side}: ${row.derivative_path} is ${meta.width}×${meta.height}, expected ${w}×${h}`);
  }
  const files = (await readdir(path.join(data, 'images'), { recursive: true, withFileTypes: true })).filter((e) => e.isFile());
  if (files.length !== count) throw new Error(`${side}: ${files.length} derivatives, expected ${count}`);
}

/** `vitrine convert` into `data` (emptied first unless `again`); its seconds, as a whole process. */
async function convert(workers: number, data: string, again = false): Promise<number> {
  if (!again) await rm(data, { recursive: true, force: true });
  const started = performance.now();
  const { stdout, stderr } = await run(process.execPath, [CLI, 'convert', masters, '--out', data, '--workers', String(workers)], { maxBuffer: 64 << 20 }).catch(
    (e: { code: number; stdout: string; stderr: string }) => {
      throw new Error(`vitrine convert exited with code ${e.code}:\n${e.stdout.slice(-1000)}${e.stderr.slice(-2000)}`);
    },
  );
  const seconds = (performance.now() - started) / 1000;
  const counts = /converted (\d+), skipped (\d+) \(unchanged\), failed (\d+)/.exec(stdout + stderr);
  const [converted, skipped] = again ? [0, pages] : [pages, 0];
  if (!counts || Number(counts[1]) !== converted || Number(counts[2]) !== skipped || Number(counts[3]) !== 0) {
    throw new Error(`vitrine convert: ${counts?.[0] ?? 'no summary'}; expected ${converted} converted, ${skipped} skipped, none failed`);
  }
  return seconds;
}

async function api(base: string, method: string, route: string, body?: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(`${base}${route}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = (await response.json()) as Record<string, unknown>;
  if (response.status >= 400) throw new Error(`${method} ${route}: ${response.status} ${JSON.stringify(json)}`);
  return json;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A server (and its workers) on a fresh data folder and a Redis key prefix of its own, gone afterwards. */
async function withService<T>(
  engine: 'redis' | 'sqlite',
  workers: number,
  root: { masters: string } | { watch: string },
  body: (server: CliServer, data: string) => Promise<T>,
): Promise<T> {
  const mastersRoot = 'masters' in root ? root.masters : root.watch;
  const rootArgs = 'masters' in root ? ['--masters', root.masters] : ['--watch', root.watch, '--watch-stable', String(watchStable)];
  const data = path.join(work, `data-${engine}-${workers}`);
  await rm(data, { recursive: true, force: true });
  const prefix = `vitrine-bench-${randomUUID().slice(0, 8)}`;
  const queueArgs = engine === 'redis' ? ['--queue', redisUrl, '--queue-prefix', prefix, '--ingest-workers', '0'] : ['--ingest-workers', String(workers)];
  const server = await serveCli(['--data', data, ...rootArgs, ...queueArgs, '--port', '0', '--access-log', 'off'], { VITRINE_API_TOKEN: TOKEN });
  const started: CliWorker[] = [];
  try {
    if (engine === 'redis') {
      for (let i = 0; i < workers; i++) started.push(await workerCli(['--queue', redisUrl, '--queue-prefix', prefix, '--data', data, '--masters', mastersRoot]));
    }
    return await body(server, data);
  } finally {
    for (const worker of started) await worker.kill('SIGTERM');
    await server.stop();
    if (engine === 'redis') {
      const queue = new BullJobQueue({ url: redisUrl, prefix });
      await queue.obliterate();
      await queue.close();
    }
  }
}

/** POST the folder, wait for its object job to finish; seconds from the POST to the end. */
async function ingest(server: CliServer, folder: string, count: number): Promise<number> {
  const started = performance.now();
  const job = await api(server.url, 'POST', '/api/ingest', { path: folder });
  for (;;) {
    const state = await api(server.url, 'GET', `/api/jobs/${job.id as string}`);
    if (state.state === 'done' || state.state === 'failed' || state.state === 'cancelled') {
      const seconds = (performance.now() - started) / 1000;
      const done = (state.pages as { done: number; failed: number }).done;
      if (state.state !== 'done' || done !== count) throw new Error(`ingest of ${folder}: ${JSON.stringify(state)}`);
      return seconds;
    }
    await sleep(50);
  }
}

interface Side {
  readonly what: string;
  readonly workers: number;
  readonly runs: number[];
  /** The peer: its fixed cost each run (the same convert again, every page skipped: start-up, scan, catalog). */
  readonly fixed?: number[];
}

const sides: Side[] = [
  { what: 'vitrine convert (peer)', workers: 1, runs: [], fixed: [] },
  { what: 'ingest, Redis, 1 vitrine worker', workers: 1, runs: [] },
  { what: 'ingest, embedded SQLite queue', workers: 1, runs: [] },
  { what: 'vitrine convert (peer)', workers: 2, runs: [], fixed: [] },
  { what: 'ingest, Redis, 2 vitrine workers', workers: 2, runs: [] },
];

console.log(
  `\n${pages} masters (${megapixels.toFixed(0)} MP in all, 2–6 MP each, LZW TIFF) → pyramidal TIFF, default settings; ${rounds} rounds; ` +
    `${cpus().length} cores, load average ${loadavg()[0]!.toFixed(1)} at start\n`,
);
for (let round = 1; round <= rounds; round++) {
  const order = round % 2 === 1 ? sides : [...sides].reverse();
  for (const side of order) {
    let seconds: number;
    const data = path.join(work, 'data-convert');
    if (side.what.startsWith('vitrine convert')) {
      seconds = await convert(side.workers, data);
      await check(side.what, data, 'book', pages, sizeOf);
      side.fixed!.push(await convert(side.workers, data, true));
    } else {
      const engine = side.what.includes('Redis') ? 'redis' : 'sqlite';
      seconds = await withService(engine, side.workers, { masters }, async (server, dir) => {
        const s = await ingest(server, 'book', pages);
        await check(side.what, dir, 'book', pages, sizeOf);
        return s;
      });
    }
    side.runs.push(seconds);
    const fixed = side.fixed?.at(-1);
    console.log(
      `  round ${round}${round === 1 ? ' (cold)' : '       '} ${`${side.what}, ${side.workers} at once`.padEnd(44)} ${seconds.toFixed(2).padStart(7)} s  ${((pages / seconds) * 60).toFixed(1).padStart(6)} pages/min` +
        (fixed === undefined ? '' : `  (again, all skipped: ${fixed.toFixed(2)} s)`),
    );
  }
}

// Arrival to manifest: a folder moved in whole under `serve --watch`, two Redis workers.
const arrivals: number[] = [];
const arriving = path.join(work, 'arriving');
const watched = path.join(work, 'watched');
await rm(watched, { recursive: true, force: true });
await mkdir(watched, { recursive: true });
await withService('redis', 2, { watch: watched }, async (server) => {
  for (let round = 1; round <= rounds; round++) {
    const id = `arrival-${round}-${randomUUID().slice(0, 6)}`;
    const staged = path.join(arriving, id);
    for (let n = 1; n <= watchPages; n++) await master(path.join(staged, `page-${n}.tif`), ...sizeOf(n));
    const started = performance.now();
    await rename(staged, path.join(watched, id));
    for (;;) {
      const response = await fetch(`${server.url}/iiif/manifest/${id}`);
      if (response.status === 200) {
        const items = ((await response.json()) as { items: unknown[] }).items;
        if (items.length === watchPages) break;
      } else await response.body?.cancel();
      if (performance.now() - started > 600_000) throw new Error(`${id}: no manifest with ${watchPages} pages after 10 minutes`);
      await sleep(50);
    }
    const seconds = (performance.now() - started) / 1000;
    arrivals.push(seconds);
    console.log(`  arrival ${round}${round === 1 ? ' (cold)' : '       '} ${watchPages} pages moved into the watched folder → manifest with every page: ${seconds.toFixed(2)} s (of which ${watchStable / 1000} s is the stability wait)`);
    await rm(path.join(watched, id), { recursive: true, force: true });
  }
});
await rm(arriving, { recursive: true, force: true });

/** A side's warm time: its best after round 1; the peer's without its fixed cost (the same run's all-skipped convert). */
const warm = (side: Side): number => Math.min(...side.runs.slice(1));
const warmNet = (side: Side): number => Math.min(...side.runs.slice(1).map((s, i) => s - (side.fixed?.[i + 1] ?? 0)));
const peer = (workers: number): Side => sides.find((s) => s.workers === workers && s.what.startsWith('vitrine convert'))!;
console.log(
  '\nwarm: best of rounds 2…. The ingest is timed from POST /api/ingest to the object job\'s end (workers running); convert as a process, and',
);
console.log("'convert net' takes off its fixed cost (start-up, scan, catalog: the same convert again, every page skipped). overhead = (ingest − convert net) / pages");
for (const workers of [1, 2]) console.log(`  convert, ${workers} at once: warm ${warm(peer(workers)).toFixed(2)} s, net ${warmNet(peer(workers)).toFixed(2)} s`);
console.log('side                                  at once   cold s   warm s  pages/min  vs convert net   overhead ms/page');
for (const side of sides) {
  const base = warmNet(peer(side.workers));
  const isPeer = side.what.startsWith('vitrine convert');
  console.log(
    `${side.what.padEnd(38)} ${String(side.workers).padStart(6)} ${side.runs[0]!.toFixed(2).padStart(8)} ${warm(side).toFixed(2).padStart(8)} ${((pages / warm(side)) * 60).toFixed(1).padStart(10)} ` +
      `${isPeer ? '              –' : `${(warm(side) / base).toFixed(2).padStart(14)}×`} ${isPeer ? '                 –' : (((warm(side) - base) / pages) * 1000).toFixed(0).padStart(18)}`,
  );
}
const one = sides.find((s) => s.what.includes('1 vitrine worker'))!;
const two = sides.find((s) => s.what.includes('2 vitrine workers'))!;
console.log(`\n2 workers / 1 worker: ${(warm(one) / warm(two)).toFixed(2)}× the pages per minute`);
console.log(`arrival → manifest (${watchPages} pages, 2 Redis workers): cold ${arrivals[0]!.toFixed(2)} s, warm best ${Math.min(...arrivals.slice(1)).toFixed(2)} s (--watch-stable ${watchStable} ms included)`);
console.log(`load average at the end: ${loadavg()[0]!.toFixed(1)}`);
