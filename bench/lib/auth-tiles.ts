/**
 * `npm run bench -- --auth`: what authorisation costs a deep-zoom client (issue 19, acceptance 4).
 * The same picture, converted by `vitrine convert` into two data folders, served with `--data`:
 *
 *   no auth                  a data folder without any access policy, the open object
 *   auth, open object        a data folder with a restricted series beside it, the open object, no credentials
 *   auth, protected, bearer  the restricted object, `Authorization: Bearer` (and the Origin it was issued to)
 *   auth, protected, cookie  the restricted object, the session cookie
 *
 * The gate runs on every request in the last three (a token or a cookie is verified per request:
 * HMAC, expiry, origin). No peer runs beside: iipsrv has no authorisation inside the server, and
 * Cantaloupe's (a delegate script) is not installed here. Before timing, a sample of tiles is asked
 * in every mode and must be 200 with the same pixels, and the protected object must refuse a
 * request without credentials and a token from another origin. Cold (a fresh server, each tile
 * once) and warm (wrk cycling through the same tiles) apart; each mode gets a fresh server.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { BENCH_DIR, benchPixels } from './fixture.js';
import { onePass, type PassResult } from './pass.js';
import { SAME_WORK_AS_IIPSRV, startVitrine } from './peers.js';
import { comparePictures } from './pixels.js';
import { CLI } from './setup.js';
import { median } from './stats.js';
import { openSeadragonTiles, sampleOf } from './urls.js';
import { wrk, writeScript, type WrkResult } from './wrk.js';

const WIDTH = 4096;
const HEIGHT = 3072;
const SECRET = 'bench-secret-bench-secret-bench-secret-0123';
const USER = 'bench';
const PASSWORD = 'bench password, not a secret';
const OPEN = 'Open/Scan/001';
const LOCKED = 'Locked/Scan/001';
const PORT = 18190;
const ORIGIN = `http://127.0.0.1:${PORT}`;

interface Mode {
  readonly name: string;
  readonly data: 'plain' | 'protected';
  readonly identifier: string;
  readonly headers: Readonly<Record<string, string>>;
}

async function convertOnce(masters: string, data: string, series: readonly string[], picture: string): Promise<void> {
  if (existsSync(path.join(data, '.bench-ready'))) return;
  await rm(masters, { recursive: true, force: true });
  await rm(data, { recursive: true, force: true });
  for (const name of series) {
    await mkdir(path.join(masters, name, 'Scan'), { recursive: true });
    execFileSync('cp', [picture, path.join(masters, name, 'Scan', '001.tif')]);
  }
  if (series.includes('Locked')) await writeFile(path.join(masters, 'Locked', 'access.yml'), 'access: restricted\nprofile: login\n');
  execFileSync(process.execPath, [CLI, 'convert', masters, '--out', data, '--json'], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (series.includes('Locked')) {
    const added = spawnSync(process.execPath, [CLI, 'users', 'add', USER, '--data', data], { input: `${PASSWORD}\n`, encoding: 'utf8' });
    if (added.status !== 0) throw new Error(`vitrine users add failed: ${added.stderr}`);
  }
  await writeFile(path.join(data, '.bench-ready'), '');
}

/** The two data folders (made once, kept in .bench/auth). */
async function dataFolders(): Promise<{ plain: string; protected: string }> {
  const dir = path.join(BENCH_DIR, 'auth');
  const picture = path.join(dir, 'scan.tif');
  if (!existsSync(picture)) {
    await mkdir(dir, { recursive: true });
    const { width, height, base } = await benchPixels();
    await sharp(base, { raw: { width, height, channels: 3 } }).resize(WIDTH, HEIGHT).tiff({ compression: 'lzw' }).toFile(`${picture}.tmp`);
    await rename(`${picture}.tmp`, picture);
  }
  const plain = path.join(dir, 'data-plain');
  const protectedData = path.join(dir, 'data-protected');
  await convertOnce(path.join(dir, 'masters-plain'), plain, ['Open'], picture);
  await convertOnce(path.join(dir, 'masters-protected'), protectedData, ['Open', 'Locked'], picture);
  return { plain, protected: protectedData };
}

/** The session cookie `vitrine_session=…` from the Set-Cookie lines of a response. */
function cookieFrom(response: Response, name: string): string {
  const line = response.headers.getSetCookie().find((l) => l.startsWith(`${name}=`));
  if (!line) throw new Error(`no ${name} cookie in ${response.url} (${response.status})`);
  return line.split(';')[0]!;
}

/** Logs in through the access service as a browser would, then asks the 1.0 token service for a token for ORIGIN. */
async function credentials(): Promise<{ cookie: string; token: string }> {
  const form = await fetch(`${ORIGIN}/iiif/auth/2/access/login?origin=${encodeURIComponent(ORIGIN)}`);
  const csrf = /name="csrf" value="([^"]+)"/.exec(await form.text())?.[1];
  if (!csrf) throw new Error('no CSRF field on the login page');
  const posted = await fetch(`${ORIGIN}/iiif/auth/2/access/login`, {
    method: 'POST',
    headers: { cookie: cookieFrom(form, 'vitrine_csrf') },
    body: new URLSearchParams({ csrf, origin: ORIGIN, username: USER, password: PASSWORD }),
  });
  if (posted.status !== 200) throw new Error(`login answered ${posted.status}`);
  const cookie = cookieFrom(posted, 'vitrine_session');
  const token = await fetch(`${ORIGIN}/iiif/auth/1/token/login`, { headers: { cookie, origin: ORIGIN } });
  const body = (await token.json()) as { accessToken?: string };
  if (token.status !== 200 || !body.accessToken) throw new Error(`token service answered ${token.status}: ${JSON.stringify(body)}`);
  return { cookie, token: body.accessToken };
}

const tilePath = (identifier: string, region: string, size: string): string => `/iiif/3/${encodeURIComponent(identifier)}/${region}/${size}/0/default.jpg`;

async function jpeg(url: string, headers: Readonly<Record<string, string>>, expected = 200): Promise<Buffer> {
  const response = await fetch(url, { headers });
  const body = Buffer.from(await response.arrayBuffer());
  if (response.status !== expected) throw new Error(`${url} answered ${response.status}, expected ${expected}: ${body.toString().slice(0, 200)}`);
  return body;
}

export async function authBench(options: { seconds: number; rounds: number; connections: number; check: number }): Promise<void> {
  const folders = await dataFolders();
  const work = path.join(BENCH_DIR, 'run');
  await mkdir(work, { recursive: true });
  const requests = openSeadragonTiles(WIDTH, HEIGHT);
  const start = (data: string) => startVitrine(data, PORT, { caches: false, data: true, args: [...SAME_WORK_AS_IIPSRV, '--auth-secret', SECRET, '--base-url', ORIGIN] });

  let server = await start(folders.protected);
  let modes: Mode[];
  try {
    const { cookie, token } = await credentials();
    modes = [
      { name: 'no auth', data: 'plain', identifier: OPEN, headers: {} },
      { name: 'auth, open object', data: 'protected', identifier: OPEN, headers: {} },
      { name: 'auth, protected, bearer', data: 'protected', identifier: LOCKED, headers: { authorization: `Bearer ${token}`, origin: ORIGIN } },
      { name: 'auth, protected, cookie', data: 'protected', identifier: LOCKED, headers: { cookie } },
    ];
    // The gate really is on: no credentials, or a token from another origin, is refused.
    const probe = requests[0]!;
    await jpeg(ORIGIN + tilePath(LOCKED, probe.region, probe.size3), {}, 401);
    await jpeg(ORIGIN + tilePath(LOCKED, probe.region, probe.size3), { authorization: `Bearer ${token}`, origin: 'https://elsewhere.example' }, 401);
    // Every mode gives the same pixels for a sample of tiles (the no-auth answers are fetched below, from their own server).
    const sample = sampleOf(requests, options.check);
    const answers = new Map<string, Buffer>();
    for (const r of sample) answers.set(r.region + r.size3, await jpeg(ORIGIN + tilePath(OPEN, r.region, r.size3), {}));
    for (const mode of modes.slice(2)) {
      for (const r of sample) await comparePictures(await jpeg(ORIGIN + tilePath(mode.identifier, r.region, r.size3), mode.headers), answers.get(r.region + r.size3)!, `${mode.name} ${r.region}`).then(sameOrFail(mode.name));
    }
    await server.stop();
    server = await start(folders.plain);
    for (const r of sample) await comparePictures(await jpeg(ORIGIN + tilePath(OPEN, r.region, r.size3), {}), answers.get(r.region + r.size3)!, `no auth ${r.region}`).then(sameOrFail('no auth'));
    console.log(`  check: ${sample.length} random tiles, the same pixels in all 4 modes; the protected object refuses no credentials (401) and a token from another origin (401)`);
  } finally {
    await server.stop();
  }

  const script = await writeScript(work);
  const results = new Map<string, { cold: PassResult[]; warm: WrkResult[] }>(modes.map((m) => [m.name, { cold: [], warm: [] }]));
  for (let round = 0; round < options.rounds; round++) {
    const order = round % 2 === 0 ? modes : [...modes].reverse();
    for (const mode of order) {
      const paths = requests.map((r) => tilePath(mode.identifier, r.region, r.size3));
      const file = path.join(work, `auth-${mode.name.replace(/\W+/g, '-')}.txt`);
      await writeFile(file, paths.join('\n') + '\n');
      const peer = await start(folders[mode.data]);
      try {
        const cold = await onePass(peer.origin, paths, options.connections, mode.headers);
        const warm = await wrk(peer.origin, file, script, { connections: options.connections, threads: 2, seconds: options.seconds, timeoutSeconds: 10, headers: mode.headers });
        if (warm.errors > 0) throw new Error(`${mode.name}: ${warm.errors} failed requests (${warm.errorDetail})`);
        results.get(mode.name)!.cold.push(cold);
        results.get(mode.name)!.warm.push(warm);
        console.log(
          `  ${mode.name.padEnd(24)} round ${round + 1} cold ${cold.requestsPerSecond.toFixed(0).padStart(6)} req/s (median ${cold.medianMs.toFixed(1)} ms, p95 ${cold.p95Ms.toFixed(1)})  ` +
            `warm ${warm.requestsPerSecond.toFixed(0).padStart(6)} req/s (median ${warm.latencyMedianMs.toFixed(1)} ms, p99 ${warm.latencyP99Ms.toFixed(1)})`,
        );
      } finally {
        await peer.stop();
      }
    }
  }

  const cold = (name: string): number => median(results.get(name)!.cold.map((r) => r.requestsPerSecond));
  const warm = (name: string): number => median(results.get(name)!.warm.map((r) => r.requestsPerSecond));
  console.log(`\nmedian of ${options.rounds} round(s), req/s; ratio against no auth`);
  console.log('mode                       URLs   cold   ratio    warm   ratio');
  for (const mode of modes) {
    const ratio = (x: number, base: number): string => `${(x / base).toFixed(2)}×`.padStart(7);
    console.log(`${mode.name.padEnd(24)} ${String(requests.length).padStart(6)} ${cold(mode.name).toFixed(0).padStart(6)} ${ratio(cold(mode.name), cold('no auth'))} ${warm(mode.name).toFixed(0).padStart(7)} ${ratio(warm(mode.name), warm('no auth'))}`);
  }
  const out = path.join(BENCH_DIR, 'results-auth.json');
  await writeFile(out, JSON.stringify({ date: new Date().toISOString(), width: WIDTH, height: HEIGHT, connections: options.connections, seconds: options.seconds, rounds: options.rounds, results: Object.fromEntries(results) }, null, 2));
  console.log(`\nresults: ${out}`);
}

/** The same tile in two modes: the same stored tile, so the same pixels (a mean difference under 0.5). */
const sameOrFail =
  (mode: string) =>
  ({ blockDifference }: { blockDifference: number }): void => {
    if (blockDifference > 0.5) throw new Error(`${mode}: pixels differ from the open object's (mean difference ${blockDifference.toFixed(2)})`);
  };
