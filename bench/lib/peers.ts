import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CLI } from './setup.js';

export interface Peer {
  readonly name: string;
  /** Turns a request (region, size, rotation, quality) into the path this server answers, for the image `bench.tif`. */
  path(region: string, size3: string, size2: string, rotation?: string, quality?: string): string;
  readonly origin: string;
  /** The server's process id: for memory sampling (Vitrine, one process), and as the root of its CPU time (both). */
  readonly pid?: number | undefined;
  stop(): Promise<void>;
}

/** Polls `url` until it answers 200; fails if `child` exits first or after 10 s. */
export async function waitFor(url: string, child: ChildProcess, what: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`${what} exited with code ${child.exitCode}`);
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`${what} did not answer ${url} within 10 s`);
}

function stopper(child: ChildProcess): () => Promise<void> {
  return async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await Promise.race([exited, sleep(3000)]);
    if (child.exitCode === null) child.kill('SIGKILL');
  };
}

/**
 * `serve` flags for a throughput comparison with iipsrv, which has no admission control and renders
 * on every core: Vitrine's expensive renders get every core too, and a queue longer than any
 * benchmark's connections, so it never answers 503 (bench:mixed measures the default limits).
 */
export const SAME_WORK_AS_IIPSRV: readonly string[] = ['--heavy-concurrency', String(cpus().length), '--heavy-queue', '1000'];

/**
 * Vitrine from the built CLI, exactly as a user runs it; `caches: false` switches libvips' operation
 * cache off; `args` are further `serve` flags.
 */
export async function startVitrine(images: string, port: number, options: { caches: boolean; args?: readonly string[]; data?: boolean }): Promise<Peer> {
  const preload = options.caches ? [] : ['--import', path.join(import.meta.dirname, 'no-vips-cache.mjs')];
  // `data`: `images` is a data folder written by `vitrine convert` (catalog, policies), served with --data.
  const source = options.data ? ['--data', images] : ['--images', images];
  const child = spawn(process.execPath, [...preload, CLI, 'serve', ...source, '--port', String(port), '--log-level', 'warn', ...(options.args ?? [])], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const origin = `http://127.0.0.1:${port}`;
  await waitFor(`${origin}/health`, child, 'vitrine');
  return {
    name: 'vitrine',
    origin,
    path: (region, size3, _size2, rotation = '0', quality = 'default') => `/iiif/3/bench.tif/${region}/${size3}/${rotation}/${quality}.jpg`,
    pid: child.pid,
    stop: stopper(child),
  };
}

/**
 * iipsrv (Debian iipimage-server) under lighttpd FastCGI, one iipsrv process per core (each with
 * OpenMP's default threads), JPEG quality 80 like Vitrine's default. It speaks IIIF 2. `caches:
 * false` sets its tile cache off (MAX_IMAGE_CACHE_SIZE=0); otherwise its default (10 MB per process).
 */
export async function startIipsrv(images: string, port: number, workDir: string, options: { caches: boolean }): Promise<Peer> {
  await mkdir(workDir, { recursive: true });
  const conf = path.join(workDir, 'lighttpd.conf');
  await writeFile(
    conf,
    [
      `server.document-root = "${workDir}"`,
      `server.port = ${port}`,
      `server.bind = "127.0.0.1"`,
      `server.modules = ( "mod_fastcgi" )`,
      `server.errorlog = "${path.join(workDir, 'lighttpd-error.log')}"`,
      `server.max-keep-alive-requests = 100000`,
      `fastcgi.server = ( "/fcgi-bin/iipsrv.fcgi" => ((`,
      `  "socket" => "${path.join(workDir, 'iipsrv.sock')}",`,
      `  "bin-path" => "/usr/lib/iipimage-server/iipsrv.fcgi",`,
      `  "max-procs" => ${cpus().length},`,
      `  "check-local" => "disable",`,
      `  "bin-environment" => (`,
      `    "FILESYSTEM_PREFIX" => "${images}/",`,
      ...(options.caches ? [] : [`    "MAX_IMAGE_CACHE_SIZE" => "0",`]),
      `    "JPEG_QUALITY" => "80",`,
      `    "MAX_CVT" => "5000",`,
      `    "VERBOSITY" => "0"`,
      `  )`,
      `)) )`,
      '',
    ].join('\n'),
  );
  const child = spawn('lighttpd', ['-D', '-f', conf], { stdio: ['ignore', 'ignore', 'inherit'] });
  const origin = `http://127.0.0.1:${port}`;
  const base = '/fcgi-bin/iipsrv.fcgi?IIIF=bench.tif';
  await waitFor(`${origin}${base}/info.json`, child, 'lighttpd + iipsrv');
  return {
    name: 'iipsrv',
    origin,
    path: (region, _size3, size2, rotation = '0', quality = 'default') => `${base}/${region}/${size2}/${rotation}/${quality}.jpg`,
    pid: child.pid,
    stop: stopper(child),
  };
}
