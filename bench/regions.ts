/**
 * Arbitrary regions as an audience asks for them, Vitrine against iipsrv, same run, same image,
 * same URLs (issue 15, acceptance 1: at least 2× iipsrv).
 *
 *   npm run bench:regions                          # 2 rounds, 10 s of wrk per server
 *   npm run bench:regions -- --seconds 5 --rounds 1 --count 200
 *   npm run bench:regions -- --mix default-gray     # the issue's first mix: 80 % default, 20 % gray
 *   npm run bench:regions -- --one-by-one 0         # without the per-kind timings
 *
 * The mix (bench/lib/urls.ts, audienceRegions): regions anywhere from 16 px to the whole image,
 * output widths 50–950 px with upscaling kept within 4,000 px; 60 % default, 20 % gray, 10 % bitonal,
 * 10 % color; 20 % turned by 90/180/270 or mirrored. JPEG out: iipsrv 1.1 answers every quality,
 * rotation by 90°, mirroring and upscaling, but only JPEG (PNG/WebP: 400), so PNG and WebP are
 * not compared. Before timing, a sample of the URLs is asked of both and compared, per quality:
 * dimensions (Vitrine exact, iipsrv within 1–3 px of its rounding), mean difference of 4×4 block
 * means within what two encoders and two resamplers give.
 * Caches off on both sides (iipsrv MAX_IMAGE_CACHE_SIZE=0, Vitrine's libvips operation cache off).
 * Cold: one pass over every URL, each once, `connections` at a time, on freshly started servers;
 * warm: wrk cycling through the same URLs. The load average is printed with every figure: the
 * machine is shared, and so are requests per CPU-second of each server's processes (lighttpd and
 * its iipsrv processes; Vitrine's process), which others' load does not change much. Any failed
 * request fails the benchmark.
 * One by one (`--one-by-one N`, default 20): N requests of each kind asked one at a time of each
 * server: the same N reduced regions as default, gray, bitonal, color, turned by 90° and mirrored,
 * and N upscaled ones as default and gray; median latency and CPU per request, the figures that
 * show which kind is slow.
 */
import { writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { treeCpuSeconds } from './lib/cpu.js';
import { BENCH_DIR, benchWorkspace } from './lib/fixture.js';
import { onePass, type PassResult } from './lib/pass.js';
import { SAME_WORK_AS_IIPSRV, startIipsrv, startVitrine, type Peer } from './lib/peers.js';
import { comparePictures } from './lib/pixels.js';
import { peerBenchOptions, prepareBench } from './lib/setup.js';
import { median } from './lib/stats.js';
import { timeOneByOne, type RequestClass } from './lib/one-by-one.js';
import { AUDIENCE_MIX, audienceRegions, DEFAULT_GRAY_MIX, sampleOf, type BenchRequest } from './lib/urls.js';
import { wrk, writeScript, type WrkResult } from './lib/wrk.js';

const { values: args } = parseArgs({
  options: {
    ...peerBenchOptions({ seconds: '10', rounds: '2', connections: '8', check: '60' }),
    count: { type: 'string', default: '300' },
    mix: { type: 'string', default: 'audience' },
    'one-by-one': { type: 'string', default: '20' },
  },
});
const MIXES = { audience: AUDIENCE_MIX, 'default-gray': DEFAULT_GRAY_MIX } as const;
if (args.help || !(args.mix in MIXES)) {
  console.log(
    'usage: npm run bench:regions [-- --seconds 10 --rounds 2 --connections 8 --count 300 (URLs) --check 60 (URLs compared) --mix audience|default-gray --one-by-one 20 (requests per kind, 0: none)]',
  );
  process.exit(args.help ? 0 : 1);
}
const seconds = Number(args.seconds);
const rounds = Number(args.rounds);
const connections = Number(args.connections);
prepareBench({ peers: true });

const { width, height, images, work } = await benchWorkspace();
const mix = MIXES[args.mix as keyof typeof MIXES];
const requests = audienceRegions(width, height, Number(args.count), undefined, mix);
const perKind = Number(args['one-by-one']);

/**
 * Mean difference allowed over 4×4 block means, per quality. Colour and grey: two JPEG encoders at
 * quality 80 and two resampling kernels (see bench/tiles.ts). Bitonal: pixels near the threshold
 * fall either side after two different resamplings, each a 255 step.
 * The two servers do not make grey alike (libvips: luminance of the linear values; iipsrv: another
 * weighting, ~12 levels apart on this picture), so a gray or bitonal answer of Vitrine is compared
 * with iipsrv's colour answer to the same URL greyed (and thresholded) the way Vitrine does: that
 * checks region, size, rotation and mirroring; the gray-to-gray difference is shown beside it.
 */
const TOLERANCE: Record<string, number> = { default: 6, color: 6, gray: 6, bitonal: 30 };
const TIMEOUT_SECONDS = 10;

const load = (): string => loadavg().map((l) => l.toFixed(2)).join(' ');
const pathOf = (peer: Peer, r: BenchRequest): string => peer.path(r.region, r.size3, r.size2, r.rotation, r.quality);

let running: Peer[] = [];
async function startPeers(): Promise<Peer[]> {
  running = [await startVitrine(images, 18184, { caches: false, args: SAME_WORK_AS_IIPSRV }), await startIipsrv(images, 18185, path.join(work, 'iipsrv-regions'), { caches: false })];
  return running;
}
async function stopPeers(): Promise<void> {
  await Promise.all(running.map((p) => p.stop()));
  running = [];
}
process.on('SIGINT', () => void stopPeers().then(() => process.exit(130)));

async function jpegFrom(peer: Peer, request: BenchRequest): Promise<Buffer> {
  const url = peer.origin + pathOf(peer, request);
  const res = await fetch(url);
  const body = Buffer.from(await res.arrayBuffer());
  if (res.status !== 200) throw new Error(`${peer.name} answered ${res.status} to ${url}: ${body.toString().slice(0, 200)}`);
  if ((await sharp(body).metadata()).format !== 'jpeg') throw new Error(`${peer.name} did not answer a JPEG for ${url}`);
  return body;
}

/** Both servers answer a sample alike (per quality), or the benchmark stops before timing anything. */
async function check(peers: readonly Peer[]): Promise<string[]> {
  const [vitrine, iipsrv] = peers as [Peer, Peer];
  const byQuality = new Map<string, { n: number; total: number; worst: number; offSize: number; bytes: [number, number]; greyToGrey: number }>();
  for (const request of sampleOf(requests, Number(args.check))) {
    const quality = request.quality ?? 'default';
    const what = `${request.region}/${request.size3}/${request.rotation}/${quality}`;
    let [w, h] = request.size3.replace('^', '').split(',').map(Number) as [number, number];
    if (request.rotation === '90' || request.rotation === '270') [w, h] = [h, w];
    const ours = await jpegFrom(vitrine, request);
    let theirs = await jpegFrom(iipsrv, request);
    const [a, b] = [await sharp(ours).metadata(), await sharp(theirs).metadata()];
    if (a.width !== w || a.height !== h) throw new Error(`${what}: vitrine answered ${a.width}×${a.height}, not ${w}×${h}`);
    if (Math.abs(b.width - w) > 1 + w / 100 || Math.abs(b.height - h) > 1 + h / 100) throw new Error(`${what}: iipsrv answered ${b.width}×${b.height}`);
    const q = byQuality.get(quality) ?? { n: 0, total: 0, worst: 0, offSize: 0, bytes: [0, 0], greyToGrey: 0 };
    q.bytes[0] += ours.byteLength;
    q.bytes[1] += theirs.byteLength;
    const asAsked = async (jpeg: Buffer): Promise<Buffer> => (b.width !== w || b.height !== h ? sharp(jpeg).resize(w, h, { fit: 'fill' }).png().toBuffer() : jpeg);
    if (b.width !== w || b.height !== h) q.offSize++;
    theirs = await asAsked(theirs);
    if (quality === 'gray' || quality === 'bitonal') {
      q.greyToGrey += (await comparePictures(ours, theirs, what)).blockDifference;
      let colour = sharp(await asAsked(await jpegFrom(iipsrv, { ...request, quality: 'default' }))).grayscale();
      if (quality === 'bitonal') colour = colour.threshold(128);
      theirs = await colour.png().toBuffer();
    }
    const { blockDifference } = await comparePictures(ours, theirs, what);
    if (blockDifference > TOLERANCE[quality]!) throw new Error(`${what}: mean block difference ${blockDifference.toFixed(2)} between vitrine and iipsrv > ${TOLERANCE[quality]}`);
    q.n++;
    q.total += blockDifference;
    q.worst = Math.max(q.worst, blockDifference);
    byQuality.set(quality, q);
  }
  return [...byQuality].map(
    ([quality, q]) =>
      `${quality.padEnd(8)} ${String(q.n).padStart(3)} URLs: mean block difference ${(q.total / q.n).toFixed(2)} (worst ${q.worst.toFixed(2)}, allowed ${TOLERANCE[quality]}); ` +
      `iipsrv 1–3 px off the asked size ${q.offSize}×; bytes vitrine/iipsrv ${(q.bytes[0] / q.bytes[1]).toFixed(2)}` +
      (q.greyToGrey > 0 ? `; against iipsrv's own ${quality}: ${(q.greyToGrey / q.n).toFixed(2)} (its grey differs)` : ''),
  );
}

/**
 * The kinds timed one by one. The same regions and sizes (reduced) for default, gray, bitonal,
 * color, turned and mirrored, so that what a kind costs over default shows; upscaled ones of their own.
 */
function requestClasses(peers: readonly Peer[]): RequestClass[] {
  const pool = audienceRegions(width, height, 4000, 777, AUDIENCE_MIX);
  const up = (r: BenchRequest): boolean => r.size3.startsWith('^');
  const base = pool.filter((r) => !up(r)).slice(0, perKind);
  const upscaled = pool.filter(up).slice(0, perKind);
  const kinds: Array<[string, BenchRequest[]]> = [
    ['default', base.map((r) => ({ ...r, quality: 'default', rotation: '0' }))],
    ['gray', base.map((r) => ({ ...r, quality: 'gray', rotation: '0' }))],
    ['bitonal', base.map((r) => ({ ...r, quality: 'bitonal', rotation: '0' }))],
    ['color', base.map((r) => ({ ...r, quality: 'color', rotation: '0' }))],
    ['turned 90', base.map((r) => ({ ...r, quality: 'default', rotation: '90' }))],
    ['mirrored', base.map((r) => ({ ...r, quality: 'default', rotation: '!0' }))],
    ['upscaled', upscaled.map((r) => ({ ...r, quality: 'default', rotation: '0' }))],
    ['upscaled gray', upscaled.map((r) => ({ ...r, quality: 'gray', rotation: '0' }))],
  ];
  return kinds.map(([name, chosen]) => ({ name, paths: Object.fromEntries(peers.map((peer) => [peer.name, chosen.map((r) => pathOf(peer, r))])) }));
}

const share = (test: (r: BenchRequest) => boolean): string => `${((100 * requests.filter(test).length) / requests.length).toFixed(0)} %`;
console.log(
  `\n${width}×${height} pyramidal TIFF (JPEG, 256×256 tiles); ${requests.length} URLs: default ${share((r) => r.quality === 'default')}, gray ${share((r) => r.quality === 'gray')}, ` +
    `bitonal ${share((r) => r.quality === 'bitonal')}, color ${share((r) => r.quality === 'color')}; rotated or mirrored ${share((r) => r.rotation !== '0')}; ` +
    `upscaled ${share((r) => r.size3.startsWith('^'))}. ${connections} connections, ${rounds} round(s), wrk 2 threads ${seconds} s; caches off on both sides; Vitrine ${SAME_WORK_AS_IIPSRV.join(' ')} (every core, never 503, as iipsrv)`,
);

const measured: Record<string, { cold: PassResult[]; warm: WrkResult[]; perCpuSecond: number[] }> = {
  vitrine: { cold: [], warm: [], perCpuSecond: [] },
  iipsrv: { cold: [], warm: [], perCpuSecond: [] },
};
const loads: string[] = [];
const script = await writeScript(work);
try {
  await startPeers();
  console.log(`check (load average ${load()}):`);
  for (const line of await check(running)) console.log(`  ${line}`);
  const oneByOne = perKind > 0 ? await timeOneByOne(running, requestClasses(running)) : [];
  if (oneByOne.length > 0) {
    console.log(`one at a time, ${perKind} requests per kind (load average ${load()}):`);
    console.log(`  ${'kind'.padEnd(14)} vitrine: median ms  CPU ms/req   iipsrv: median ms  CPU ms/req   CPU ratio iipsrv/vitrine`);
    for (const t of oneByOne) {
      const [v, i] = [t.byServer.vitrine!, t.byServer.iipsrv!];
      console.log(
        `  ${t.name.padEnd(14)} ${v.medianMs.toFixed(1).padStart(17)} ${v.cpuMs.toFixed(1).padStart(11)}   ${i.medianMs.toFixed(1).padStart(16)} ${i.cpuMs.toFixed(1).padStart(11)}   ${(i.cpuMs / v.cpuMs).toFixed(2).padStart(8)}×`,
      );
    }
  }
  await stopPeers();
  for (let round = 0; round < rounds; round++) {
    const peers = await startPeers();
    const order = round % 2 === 0 ? peers : [...peers].reverse();
    try {
      loads.push(load());
      for (const peer of order) {
        const paths = requests.map((r) => pathOf(peer, r));
        const cpuBefore = treeCpuSeconds(peer.pid!);
        const cold = await onePass(peer.origin, paths, connections);
        measured[peer.name]!.cold.push(cold);
        const file = path.join(work, `${peer.name}-regions.txt`);
        await writeFile(file, paths.join('\n') + '\n');
        const warm = await wrk(peer.origin, file, script, { connections, threads: 2, seconds, timeoutSeconds: TIMEOUT_SECONDS });
        if (warm.errors > 0) throw new Error(`${peer.name}: ${warm.errors} failed requests (${warm.errorDetail})`);
        measured[peer.name]!.warm.push(warm);
        const perCpuSecond = (paths.length + warm.requests) / (treeCpuSeconds(peer.pid!) - cpuBefore);
        measured[peer.name]!.perCpuSecond.push(perCpuSecond);
        console.log(
          `  round ${round + 1} ${peer.name.padEnd(8)} cold ${cold.requestsPerSecond.toFixed(1).padStart(6)} req/s (median ${cold.medianMs.toFixed(0)} ms, ` +
            `p95 ${cold.p95Ms.toFixed(0)})  warm ${warm.requestsPerSecond.toFixed(1).padStart(6)} req/s (median ${warm.latencyMedianMs.toFixed(0)} ms, ` +
            `p99 ${warm.latencyP99Ms.toFixed(0)})  ${perCpuSecond.toFixed(1)} req per CPU-s  load average ${load()}`,
        );
      }
    } finally {
      await stopPeers();
    }
  }
  const cold = (peer: string): number => median(measured[peer]!.cold.map((r) => r.requestsPerSecond));
  const warm = (peer: string): number => median(measured[peer]!.warm.map((r) => r.requestsPerSecond));
  const perCpu = (peer: string): number => median(measured[peer]!.perCpuSecond);
  const summary = {
    perCpuSecond: { vitrine: perCpu('vitrine'), iipsrv: perCpu('iipsrv'), ratio: perCpu('vitrine') / perCpu('iipsrv') },
    cold: { vitrine: cold('vitrine'), iipsrv: cold('iipsrv'), ratio: cold('vitrine') / cold('iipsrv') },
    warm: { vitrine: warm('vitrine'), iipsrv: warm('iipsrv'), ratio: warm('vitrine') / warm('iipsrv') },
  };
  console.log(`\nmedian of ${rounds} round(s), ${args.mix} mix, JPEG, caches off (load average at round starts: ${loads.join(' | ')}):`);
  for (const kind of ['cold', 'warm', 'perCpuSecond'] as const) {
    const s = summary[kind];
    const unit = kind === 'perCpuSecond' ? 'req per CPU-s (cold + warm)' : 'req/s';
    console.log(`  ${kind.padEnd(12)} vitrine ${s.vitrine.toFixed(1)}, iipsrv ${s.iipsrv.toFixed(1)} ${unit}; ratio ${s.ratio.toFixed(2)}× (target ≥2×: ${s.ratio >= 2 ? 'met' : 'NOT met'})`);
  }
  const out = path.join(BENCH_DIR, 'results-regions.json');
  await writeFile(out, JSON.stringify({ date: new Date().toISOString(), mix: args.mix, width, height, connections, seconds, rounds, urls: requests.length, loads, summary, measured, oneByOne }, null, 2));
  console.log(`\nresults: ${out}`);
} finally {
  await stopPeers();
}
