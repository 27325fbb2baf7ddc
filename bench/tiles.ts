/**
 * Deep-zoom throughput, Vitrine against iipsrv, in the same run on the same pyramidal TIFF.
 *
 *   npm run bench                          # 3 rounds of 10 s per server and workload
 *   npm run bench -- --seconds 5 --rounds 1
 *
 * Workloads: every tile URL of the OpenSeadragon pattern over the whole pyramid, and fixed-seed
 * arbitrary regions and sizes. wrk at 16 connections; the servers alternate within each round.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { BENCH_DIR, benchImage } from './lib/fixture.js';
import { startIipsrv, startVitrine, type Peer } from './lib/peers.js';
import { openSeadragonTiles, randomRegions, type BenchRequest } from './lib/urls.js';
import { wrk, writeScript, type WrkResult } from './lib/wrk.js';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '16' },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  console.log('usage: npm run bench [-- --seconds 10 --rounds 3 --connections 16]');
  process.exit(0);
}
const seconds = Number(args.seconds);
const rounds = Number(args.rounds);
const connections = Number(args.connections);

const root = path.resolve(import.meta.dirname, '..');
execFileSync('bash', [path.join(root, 'scripts/install-bench-deps.sh')], { stdio: 'inherit' });
if (!existsSync(path.join(root, 'dist/cli/index.js'))) execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });

const image = await benchImage();
const { width, height } = await sharp(image).metadata();
const images = path.dirname(image);
const work = path.join(BENCH_DIR, 'run');
await mkdir(work, { recursive: true });

const workloads: { name: string; target: number; requests: BenchRequest[] }[] = [
  { name: 'aligned tiles (OpenSeadragon)', target: 3, requests: openSeadragonTiles(width, height) },
  { name: 'arbitrary regions and sizes', target: 1.2, requests: randomRegions(width, height, 500) },
];

const peers: Peer[] = [await startVitrine(images, 18182), await startIipsrv(images, 18183, path.join(work, 'iipsrv'))];
const stopAll = async (): Promise<void> => {
  await Promise.all(peers.map((p) => p.stop()));
};
process.on('SIGINT', () => void stopAll().then(() => process.exit(130)));

try {
  // Both servers must answer every kind of request correctly before being timed.
  for (const workload of workloads) {
    for (const request of [workload.requests[0]!, workload.requests.at(-1)!]) {
      for (const peer of peers) {
        const res = await fetch(peer.origin + peer.path(request.region, request.size3, request.size2));
        const body = Buffer.from(await res.arrayBuffer());
        if (res.status !== 200) throw new Error(`${peer.name} answered ${res.status} to ${request.region}: ${body.toString().slice(0, 200)}`);
        const meta = await sharp(body).metadata();
        if (meta.format !== 'jpeg') throw new Error(`${peer.name} did not answer a JPEG for ${request.region}`);
      }
    }
  }

  const script = await writeScript(work);
  const threads = 2;
  const results: Record<string, Record<string, WrkResult[]>> = {};
  console.log(`\n${width}×${height} pyramidal TIFF (JPEG, 256×256 tiles), wrk ${threads} threads, ${connections} connections, ${rounds}×${seconds} s per server\n`);
  for (const workload of workloads) {
    results[workload.name] = {};
    const files = new Map<Peer, string>();
    for (const peer of peers) {
      const file = path.join(work, `${peer.name}-${workload.name.split(' ')[0]}.txt`);
      await writeFile(file, workload.requests.map((r) => peer.path(r.region, r.size3, r.size2)).join('\n') + '\n');
      files.set(peer, file);
      results[workload.name]![peer.name] = [];
      await wrk(peer.origin, file, script, { connections, threads, seconds: 2 }); // warm-up: page cache, open files
    }
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? peers : [...peers].reverse();
      for (const peer of order) {
        const result = await wrk(peer.origin, files.get(peer)!, script, { connections, threads, seconds });
        if (result.errors > 0) throw new Error(`${peer.name}: ${result.errors} failed requests in ${workload.name}`);
        results[workload.name]![peer.name]!.push(result);
        console.log(`  ${workload.name.padEnd(30)} round ${round + 1} ${peer.name.padEnd(8)} ${result.requestsPerSecond.toFixed(0).padStart(7)} req/s  avg ${result.latencyAvgMs.toFixed(1)} ms`);
      }
    }
  }

  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const summary = workloads.map((w) => {
    const vitrine = median(results[w.name]!.vitrine!.map((r) => r.requestsPerSecond));
    const iipsrv = median(results[w.name]!.iipsrv!.map((r) => r.requestsPerSecond));
    return { workload: w.name, urls: w.requests.length, vitrine, iipsrv, ratio: vitrine / iipsrv, target: w.target };
  });
  console.log('\nmedian of rounds');
  console.log('workload                        URLs   vitrine req/s   iipsrv req/s   ratio   target');
  for (const s of summary) {
    console.log(
      `${s.workload.padEnd(30)} ${String(s.urls).padStart(5)} ${s.vitrine.toFixed(0).padStart(15)} ${s.iipsrv.toFixed(0).padStart(14)} ${s.ratio.toFixed(2).padStart(6)}×  ≥${s.target}× ${s.ratio >= s.target ? 'met' : 'NOT met'}`,
    );
  }
  const out = path.join(BENCH_DIR, 'results-tiles.json');
  await writeFile(out, JSON.stringify({ date: new Date().toISOString(), width, height, connections, seconds, rounds, summary, results }, null, 2));
  console.log(`\nresults: ${out}`);
} finally {
  await stopAll();
}
