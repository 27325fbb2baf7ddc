/**
 * Deep-zoom tiles from S3 against the same file served locally, in the same run.
 *
 *   npm run bench:s3                       # 3 rounds
 *   npm run bench:s3 -- --rounds 1 --connections 8
 *
 * The benchmark pyramid (6000×4500, 256×256 JPEG tiles) is uploaded to s3rver (an S3-protocol
 * server, on loopback, storing on the local disk: the network costs of a real store are not in these
 * figures, only the protocol and Vitrine's own work). Each round, every OpenSeadragon tile URL is
 * asked once (`connections` at a time) of:
 * - local: `vitrine serve --images <folder>`;
 * - S3 cold: `vitrine serve --images s3://…` on an empty --cache-dir;
 * - S3 warm cache: a fresh process on that filled --cache-dir (no source open, every block on disk).
 * Each pass reports tiles/s and p50/p99 latency; the S3 ones also the bytes and requests to S3 per
 * tile, from /health, against the stored tile's mean size.
 */
import { mkdir, readFile, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { openSource } from '../src/imaging/open-source.js';
import { benchWorkspace } from './lib/fixture.js';
import { onePass, type PassResult } from './lib/pass.js';
import { startVitrine, type Peer } from './lib/peers.js';
import { prepareBench } from './lib/setup.js';
import { median } from './lib/stats.js';
import { openSeadragonTiles } from './lib/urls.js';

const { values: args } = parseArgs({
  options: { rounds: { type: 'string', default: '3' }, connections: { type: 'string', default: '16' }, help: { type: 'boolean', default: false } },
});
if (args.help) {
  console.log('usage: npm run bench:s3 [-- --rounds 3 --connections 16]');
  process.exit(0);
}
const rounds = Number(args.rounds);
const connections = Number(args.connections);
prepareBench({ peers: false });

const { image, width, height, images, work } = await benchWorkspace();
const paths = openSeadragonTiles(width, height).map((r) => `/iiif/3/bench.tif/${r.region}/${r.size3}/0/default.jpg`);

// s3rver's fixed credentials, for the SDK's standard chain here and in the servers started below.
Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1' });
const store = path.join(work, 's3rver');
await rm(store, { recursive: true, force: true });
const s3rver = new S3rver({ address: '127.0.0.1', port: 0, directory: store, silent: true, configureBuckets: [{ name: 'bench', configs: [] }] });
const endpoint = `http://127.0.0.1:${((await s3rver.run()) as AddressInfo).port}`;
const client = new S3Client({ endpoint, forcePathStyle: true });
await client.send(new PutObjectCommand({ Bucket: 'bench', Key: 'pyramids/bench.tif', Body: await readFile(image) }));
client.destroy();

const source = await openSource(image);
const counts = source.info.levels.flatMap((level) => level.jpegTiles?.byteCounts ?? []);
const meanTileBytes = counts.reduce((a, b) => a + b, 0) / counts.length;
await source.close();

interface S3Health {
  gets: number;
  bytesFetched: number;
  heads: number;
  lists: number;
}
const health = async (peer: Peer): Promise<S3Health | undefined> => ((await (await fetch(`${peer.origin}/health`)).json()) as { s3?: S3Health }).s3;

interface Row {
  passes: PassResult[];
  bytesPerTile: number[];
  requestsPerTile: number[];
}
const rows: Record<string, Row> = {};
const row = (name: string): Row => (rows[name] ??= { passes: [], bytesPerTile: [], requestsPerTile: [] });

async function measure(name: string, peer: Peer): Promise<void> {
  try {
    const pass = await onePass(peer.origin, paths, connections);
    const s3 = await health(peer);
    row(name).passes.push(pass);
    if (s3) {
      row(name).bytesPerTile.push(s3.bytesFetched / paths.length);
      row(name).requestsPerTile.push((s3.gets + s3.heads + s3.lists) / paths.length);
    }
  } finally {
    await peer.stop();
  }
}

let port = 18300;
for (let round = 0; round < rounds; round++) {
  const cache = path.join(work, 's3-cache');
  await rm(cache, { recursive: true, force: true });
  await mkdir(cache, { recursive: true });
  const s3Args = ['--s3-endpoint', endpoint, '--cache-dir', cache];
  await measure('local', await startVitrine(images, port++, { caches: true }));
  await measure('S3 cold', await startVitrine('s3://bench/pyramids', port++, { caches: true, args: s3Args }));
  await measure('S3 warm cache', await startVitrine('s3://bench/pyramids', port++, { caches: true, args: s3Args }));
  console.error(`round ${round + 1}/${rounds} done`);
}
await s3rver.close();

console.log(`${paths.length} tiles (every OpenSeadragon tile of ${width}×${height}), ${connections} at a time, ${rounds} rounds (medians)`);
console.log(`stored tile: ${Math.round(meanTileBytes)} bytes on average; blocks of 32 KiB`);
console.log('| source | tiles/s | p50 ms | p99 ms | bytes from S3 per tile | S3 requests per tile |');
console.log('|---|---|---|---|---|---|');
for (const [name, r] of Object.entries(rows)) {
  const rps = median(r.passes.map((p) => p.requestsPerSecond));
  const p50 = median(r.passes.map((p) => p.medianMs));
  const p99 = median(r.passes.map((p) => p.p99Ms));
  const bytes = r.bytesPerTile.length ? `${Math.round(median(r.bytesPerTile))} (${(median(r.bytesPerTile) / meanTileBytes).toFixed(2)}× a tile)` : '–';
  const requests = r.requestsPerTile.length ? median(r.requestsPerTile).toFixed(2) : '–';
  console.log(`| ${name} | ${rps.toFixed(0)} | ${p50.toFixed(1)} | ${p99.toFixed(1)} | ${bytes} | ${requests} |`);
}
