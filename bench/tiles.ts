/**
 * Deep-zoom throughput, Vitrine against iipsrv, in the same run on the same pyramidal TIFF.
 *
 *   npm run bench                          # 3 rounds of 10 s per server, workload and cache setting
 *   npm run bench -- --seconds 5 --rounds 1
 *
 * Workloads: every tile URL of the OpenSeadragon pattern over the whole pyramid, and fixed-seed
 * arbitrary regions and sizes. Like for like:
 * - both servers get every core of the machine and a process per core (iipsrv: one FastCGI process
 *   per core; Vitrine: `serve --processes <cores>`, each with libvips' threads; `--processes 1` to
 *   see one process), the same JPEG quality, the same URLs;
 * - before timing, a random sample of each workload's URLs is asked of both and the answers compared:
 *   same dimensions, mean pixel difference within what two JPEG encoders give, similar byte sizes;
 * - two cache settings, labelled: caches off on both sides (the headline: iipsrv's tile cache off,
 *   Vitrine's libvips operation cache off; Vitrine keeps no tiles) and each server's defaults
 *   (iipsrv keeps 10 MB of tiles per process);
 * - cold and warm apart: each round starts both servers afresh; cold is one pass over every URL of
 *   the workload, each asked once (`connections` at a time, from this process), warm is wrk cycling
 *   through the same URLs afterwards. The servers alternate within each round.
 * Any failed request (an error status, or no answer within 10 s) fails the benchmark.
 */
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { authBench } from './lib/auth-tiles.js';
import { BENCH_DIR, benchWorkspace } from './lib/fixture.js';
import { onePass, type PassResult } from './lib/pass.js';
import { SAME_WORK_AS_IIPSRV, startIipsrv, startVitrine, type Peer } from './lib/peers.js';
import { treeCpuSeconds } from './lib/cpu.js';
import { comparePictures } from './lib/pixels.js';
import { peerBenchOptions, prepareBench } from './lib/setup.js';
import { median } from './lib/stats.js';
import { openSeadragonTiles, randomRegions, sampleOf, type BenchRequest } from './lib/urls.js';
import { wrk, writeScript, type WrkResult } from './lib/wrk.js';

const { values: args } = parseArgs({ options: { ...peerBenchOptions({ seconds: '10', rounds: '3', connections: '16', check: '50' }), auth: { type: 'boolean', default: false }, processes: { type: 'string', default: String(cpus().length) } } });
if (args.help) {
  console.log('usage: npm run bench [-- --seconds 10 --rounds 3 --connections 16 --check 50 (URLs compared per workload) --processes N (Vitrine server processes; default one per core, as iipsrv)] [--auth (what authorisation costs instead: bench/lib/auth-tiles.ts)]');
  process.exit(0);
}
const seconds = Number(args.seconds);
const rounds = Number(args.rounds);
const connections = Number(args.connections);
prepareBench({ peers: true });
if (args.auth) {
  console.log(`\n== authorisation: tiles of one 4096×3072 page without auth, open with auth on, protected with a bearer token and with the session cookie; ${connections} connections, ${rounds} round(s), warm: wrk ${seconds} s per mode`);
  await authBench({ seconds, rounds, connections, check: Math.min(Number(args.check), 30) });
  process.exit(0);
}

const { width, height, images, work } = await benchWorkspace();

interface Workload {
  readonly name: string;
  readonly target: number;
  readonly requests: BenchRequest[];
}
const workloads: Workload[] = [
  { name: 'aligned tiles (OpenSeadragon)', target: 8, requests: openSeadragonTiles(width, height) },
  { name: 'arbitrary regions and sizes', target: 1.2, requests: randomRegions(width, height, 500) },
];
const settings = [
  { key: 'off', caches: false, label: 'caches off on both sides (iipsrv MAX_IMAGE_CACHE_SIZE=0, Vitrine libvips cache off)' },
  { key: 'default', caches: true, label: "default caches (iipsrv: 10 MB of tiles per process; Vitrine: libvips' operation cache)" },
] as const;
/**
 * Mean difference allowed between the two servers' answers to one request, over 4×4 block means
 * (8-bit samples): both re-encode at quality 80 (or pass a stored tile through) and resize with
 * different kernels; measured up to 4.2 on a 42× reduction, under 1.5 elsewhere; a neighbouring
 * tile differs by about 20 per pixel.
 */
const TOLERANCE = 6;

/**
 * A request not answered within this is a failure (wrk's own default, 2 s, failed iipsrv's slowest
 * arbitrary regions on a loaded 2-core machine: its p99 there is about 2 s).
 */
const TIMEOUT_SECONDS = 10;

/** Same cores for both: iipsrv runs one FastCGI process per core; Vitrine `--processes` (one per core by default). */
const vitrineArgs = [...SAME_WORK_AS_IIPSRV, '--processes', args.processes];
let running: Peer[] = [];
async function startPeers(caches: boolean): Promise<Peer[]> {
  running = [await startVitrine(images, 18182, { caches, args: vitrineArgs }), await startIipsrv(images, 18183, path.join(work, 'iipsrv'), { caches })];
  return running;
}
async function stopPeers(): Promise<void> {
  await Promise.all(running.map((p) => p.stop()));
  running = [];
}
process.on('SIGINT', () => void stopPeers().then(() => process.exit(130)));

const pathsOf = (peer: Peer, requests: readonly BenchRequest[]): string[] => requests.map((r) => peer.path(r.region, r.size3, r.size2));

async function jpegFrom(peer: Peer, request: BenchRequest): Promise<Buffer> {
  const url = peer.origin + peer.path(request.region, request.size3, request.size2);
  const res = await fetch(url);
  const body = Buffer.from(await res.arrayBuffer());
  if (res.status !== 200) throw new Error(`${peer.name} answered ${res.status} to ${url}: ${body.toString().slice(0, 200)}`);
  if ((await sharp(body).metadata()).format !== 'jpeg') throw new Error(`${peer.name} did not answer a JPEG for ${url}`);
  return body;
}

/**
 * Both servers must answer a random sample of the workload alike before being timed. Vitrine must
 * give exactly the size asked for. iipsrv 1.1 answers some arbitrary sizes 1–3 px narrower than the
 * width asked (its rounding through the pyramid level): that is counted and shown, and its picture
 * is scaled to the asked size before the pixels are compared.
 */
async function check(peers: Peer[], workload: Workload): Promise<string> {
  const [vitrine, iipsrv] = peers as [Peer, Peer];
  const picked = sampleOf(workload.requests, Number(args.check));
  let worst = 0;
  let total = 0;
  let peerOffSize = 0;
  const bytes = { vitrine: 0, iipsrv: 0 };
  for (const request of picked) {
    const what = `${workload.name}: ${request.region}/${request.size3}`;
    const [w, h] = request.size3.split(',').map(Number) as [number, number];
    const ours = await jpegFrom(vitrine, request);
    let theirs = await jpegFrom(iipsrv, request);
    const size = async (jpeg: Buffer): Promise<[number, number]> => {
      const meta = await sharp(jpeg).metadata();
      return [meta.width, meta.height];
    };
    const [ow, oh] = await size(ours);
    if (ow !== w || oh !== h) throw new Error(`${what}: vitrine answered ${ow}×${oh}`);
    const [tw, th] = await size(theirs);
    if (Math.abs(tw - w) > 1 + w / 100 || Math.abs(th - h) > 1 + h / 100) throw new Error(`${what}: iipsrv answered ${tw}×${th}`);
    bytes.vitrine += ours.byteLength;
    bytes.iipsrv += theirs.byteLength;
    if (tw !== w || th !== h) {
      peerOffSize++;
      theirs = await sharp(theirs).resize(w, h, { fit: 'fill' }).png().toBuffer();
    }
    const { blockDifference } = await comparePictures(ours, theirs, what);
    if (blockDifference > TOLERANCE) throw new Error(`${what}: mean difference ${blockDifference.toFixed(2)} between vitrine and iipsrv > ${TOLERANCE}`);
    worst = Math.max(worst, blockDifference);
    total += blockDifference;
  }
  const sizeRatio = bytes.vitrine / bytes.iipsrv;
  if (sizeRatio < 0.5 || sizeRatio > 2) throw new Error(`${workload.name}: vitrine's JPEGs are ${sizeRatio.toFixed(2)}× the size of iipsrv's: not the same quality`);
  return (
    `${workload.name}: ${picked.length} random URLs; vitrine: the asked size every time; iipsrv: ${peerOffSize} answered 1–3 px off the asked size; ` +
    `mean difference of 4×4 block means ${(total / picked.length).toFixed(2)} (worst ${worst.toFixed(2)}, allowed ${TOLERANCE}); bytes vitrine/iipsrv ${sizeRatio.toFixed(2)}`
  );
}

interface Measured {
  cold: PassResult[];
  warm: WrkResult[];
  /** CPU seconds per 1,000 warm requests: the server's processes (all of them), and wrk's. */
  cpu: { server: number; wrk: number }[];
}

/** CPU seconds of this process's finished children (wrk, once it has exited and been waited for): cutime + cstime of /proc/self/stat. */
function childrenCpuSeconds(): number {
  const text = readFileSync('/proc/self/stat', 'latin1');
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[13]) + Number(fields[14])) / 100;
}
const results: Record<string, Record<string, Record<string, Measured>>> = {};
const script = await writeScript(work);
const threads = 2;
console.log(`\n${width}×${height} pyramidal TIFF (JPEG, 256×256 tiles), ${connections} connections, ${rounds} round(s); warm: wrk ${threads} threads, ${seconds} s per server; Vitrine ${vitrineArgs.join(' ')} (never 503, as iipsrv); cores: ${cpus().length}, both servers on all of them: iipsrv ${cpus().length} FastCGI processes, Vitrine ${args.processes} process(es)`);

try {
  for (const setting of settings) {
    console.log(`\n== ${setting.label}`);
    await startPeers(setting.caches);
    for (const workload of workloads) console.log(`  check: ${await check(running, workload)}`);
    await stopPeers();
    const bySetting: Record<string, Record<string, Measured>> = (results[setting.key] = {});
    for (const workload of workloads) bySetting[workload.name] = { vitrine: { cold: [], warm: [], cpu: [] }, iipsrv: { cold: [], warm: [], cpu: [] } };
    for (let round = 0; round < rounds; round++) {
      const peers = await startPeers(setting.caches);
      const order = round % 2 === 0 ? peers : [...peers].reverse();
      try {
        for (const workload of workloads) {
          const files = new Map<Peer, string>();
          for (const peer of order) {
            const cold = await onePass(peer.origin, pathsOf(peer, workload.requests), connections);
            bySetting[workload.name]![peer.name]!.cold.push(cold);
            const file = path.join(work, `${peer.name}-${workload.name.split(' ')[0]}.txt`);
            await writeFile(file, pathsOf(peer, workload.requests).join('\n') + '\n');
            files.set(peer, file);
          }
          for (const peer of order) {
            const serverBefore = treeCpuSeconds(peer.pid!);
            const wrkBefore = childrenCpuSeconds();
            const warm = await wrk(peer.origin, files.get(peer)!, script, { connections, threads, seconds, timeoutSeconds: TIMEOUT_SECONDS });
            const perThousand = (cpu: number): number => (cpu / warm.requests) * 1000;
            if (warm.errors > 0) throw new Error(`${peer.name}: ${warm.errors} failed requests in ${workload.name} (${warm.errorDetail})`);
            bySetting[workload.name]![peer.name]!.warm.push(warm);
            bySetting[workload.name]![peer.name]!.cpu.push({ server: perThousand(treeCpuSeconds(peer.pid!) - serverBefore), wrk: perThousand(childrenCpuSeconds() - wrkBefore) });
          }
          for (const peer of order) {
            const m = bySetting[workload.name]![peer.name]!;
            const cold = m.cold.at(-1)!;
            const warm = m.warm.at(-1)!;
            const cpu = m.cpu.at(-1)!;
            console.log(
              `  ${workload.name.padEnd(30)} round ${round + 1} ${peer.name.padEnd(8)} cold ${cold.requestsPerSecond.toFixed(0).padStart(6)} req/s ` +
                `(median ${cold.medianMs.toFixed(1)} ms, p95 ${cold.p95Ms.toFixed(1)})  ` +
                `warm ${warm.requestsPerSecond.toFixed(0).padStart(6)} req/s (median ${warm.latencyMedianMs.toFixed(1)} ms, p99 ${warm.latencyP99Ms.toFixed(1)}; ` +
                `CPU s per 1,000: server ${cpu.server.toFixed(3)}, wrk ${cpu.wrk.toFixed(3)})`,
            );
          }
        }
      } finally {
        await stopPeers();
      }
    }
  }

  const summary = settings.flatMap((setting) =>
    workloads.map((w) => {
      const of = (peer: string): Measured => results[setting.key]![w.name]![peer]!;
      const cold = (peer: string): number => median(of(peer).cold.map((r) => r.requestsPerSecond));
      const warm = (peer: string): number => median(of(peer).warm.map((r) => r.requestsPerSecond));
      const cpu = (peer: string): number => median(of(peer).cpu.map((c) => c.server));
      return {
        setting: setting.key,
        workload: w.name,
        urls: w.requests.length,
        target: w.target,
        cold: { vitrine: cold('vitrine'), iipsrv: cold('iipsrv'), ratio: cold('vitrine') / cold('iipsrv') },
        warm: { vitrine: warm('vitrine'), iipsrv: warm('iipsrv'), ratio: warm('vitrine') / warm('iipsrv') },
        // Requests per CPU-second of the server alone: iipsrv's CPU per request over Vitrine's.
        cpuPerThousand: { vitrine: cpu('vitrine'), iipsrv: cpu('iipsrv'), ratio: cpu('iipsrv') / cpu('vitrine') },
      };
    }),
  );
  console.log(`\nmedian of ${rounds} round(s), req/s`);
  console.log('caches   workload                        URLs   cold: vitrine  iipsrv  ratio   warm: vitrine  iipsrv  ratio');
  for (const s of summary) {
    const row = (x: { vitrine: number; iipsrv: number; ratio: number }): string =>
      `${x.vitrine.toFixed(0).padStart(13)} ${x.iipsrv.toFixed(0).padStart(7)} ${x.ratio.toFixed(2).padStart(6)}×`;
    console.log(`${s.setting.padEnd(8)} ${s.workload.padEnd(30)} ${String(s.urls).padStart(5)} ${row(s.cold)}   ${row(s.warm)}`);
  }
  console.log('\nwarm, CPU seconds of the server processes per 1,000 requests (wrk not counted): iipsrv / vitrine = requests per CPU-second, vitrine / iipsrv');
  for (const s of summary) {
    const c = s.cpuPerThousand;
    console.log(`${s.setting.padEnd(8)} ${s.workload.padEnd(30)} vitrine ${c.vitrine.toFixed(3)}  iipsrv ${c.iipsrv.toFixed(3)}  ${c.ratio.toFixed(2)}×`);
  }
  console.log('\nheadline (caches off on both sides, same cores), vitrine / iipsrv throughput:');
  for (const s of summary.filter((x) => x.setting === 'off')) {
    console.log(
      `  ${s.workload.padEnd(30)} warm ${s.warm.ratio.toFixed(2)}×, cold ${s.cold.ratio.toFixed(2)}×  (target ≥${s.target}× warm: ${s.warm.ratio >= s.target ? 'met' : 'NOT met'}); per CPU-second ${s.cpuPerThousand.ratio.toFixed(2)}×`,
    );
  }
  const out = path.join(BENCH_DIR, 'results-tiles.json');
  await writeFile(out, JSON.stringify({ date: new Date().toISOString(), width, height, connections, seconds, rounds, summary, results }, null, 2));
  console.log(`\nresults: ${out}`);
} finally {
  await stopPeers();
}
