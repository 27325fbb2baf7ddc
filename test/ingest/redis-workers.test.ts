import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { Redis } from 'ioredis';
import sharp from 'sharp';
import { BullJobQueue } from '../../src/ingest/bullmq-queue.js';
import { CLI, serveCli, vitrine, workerCli, type CliServer, type CliWorker } from '../helpers/cli.js';
import { scrape, valueOf } from '../helpers/metrics.js';
import type { Json } from '../helpers/presentation.js';
import { tempDir } from '../helpers/server.js';
import { api, finished, REDIS_URL, until } from './helpers.js';

const TOKEN = 'redis-workers-token-5d20e1';
const PAGES = 40;

/** Page n's colour: every master differs, so each derivative can be matched to its master by its pixels. */
const colour = (n: number): { r: number; g: number; b: number } => ({ r: (n * 37) % 256, g: (n * 91 + 40) % 256, b: 255 - ((n * 53) % 256) });

/** Every file under a folder, relative to it. */
async function filesUnder(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name)));
}

/** The pages each worker's log says it converted (debug lines `ingest: page ID converted`). */
function conversionsIn(log: string): string[] {
  return [...log.matchAll(/"msg":"ingest: page (\S+) converted"/g)].map((m) => m[1]!);
}

describe('ingest on Redis: a server and two vitrine worker processes, one killed with SIGKILL mid-object', () => {
  const prefix = `vitrine-test-${randomUUID().slice(0, 8)}`;
  let dir: string;
  let cleanup: () => Promise<void>;
  let masters: string;
  let data: string;
  let server: CliServer | undefined;
  const workers: CliWorker[] = [];
  let redis: Redis;

  const startWorker = (): Promise<CliWorker> =>
    workerCli(['--queue', REDIS_URL, '--queue-prefix', prefix, '--data', data, '--masters', masters, '--lease', '1500', '--stalled-interval', '300', '--log-level', 'debug']);

  before(async () => {
    assert.ok(existsSync(CLI), `${CLI} is missing: build it first (npm run build)`);
    ({ dir, cleanup } = await tempDir('vitrine-redis-workers-'));
    masters = path.join(dir, 'masters');
    data = path.join(dir, 'data');
    for (const box of ['box1', 'box2']) await mkdir(path.join(masters, box), { recursive: true });
    for (let n = 1; n <= PAGES; n++) {
      await sharp({ create: { width: 64, height: 64, channels: 3, background: colour(n) } }).tiff().toFile(path.join(masters, 'box1', `page-${String(n).padStart(3, '0')}.tif`));
    }
    for (let n = 1; n <= 6; n++) await sharp({ create: { width: 64, height: 64, channels: 3, background: colour(100 + n) } }).tiff().toFile(path.join(masters, 'box2', `p${n}.tif`));
    redis = new Redis(REDIS_URL);
    server = await serveCli(['--data', data, '--masters', masters, '--queue', REDIS_URL, '--queue-prefix', prefix, '--ingest-workers', '0', '--port', '0'], { VITRINE_API_TOKEN: TOKEN });
    workers.push(await startWorker(), await startWorker());
  });

  after(async () => {
    for (const worker of workers) await worker.kill('SIGKILL');
    await server?.stop();
    const queue = new BullJobQueue({ url: REDIS_URL, prefix });
    await queue.obliterate();
    await queue.close();
    assert.deepEqual(await redis.keys(`${prefix}:*`), [], 'the test leaves no key on Redis');
    redis.disconnect();
    await cleanup();
  });

  it('every page ends converted exactly once, the catalog is consistent, nothing is left under a temporary name', async () => {
    const [victim, survivor] = workers as [CliWorker, CliWorker];
    const posted = await api(server!.url, 'POST', '/api/ingest', { token: TOKEN, body: { path: 'box1' } });
    assert.equal(posted.status, 202, JSON.stringify(posted.body));
    const id = posted.body.id as string;
    await until('a few pages converted by each worker', async () => (conversionsIn(victim.output()).length >= 3 && conversionsIn(survivor.output()).length >= 3 ? true : undefined));

    // Freeze the victim, and kill it only while it holds a job (a BullMQ lock with its token): mid-object, a job in hand.
    const victimPid = victim.child.pid!;
    let held: string | undefined;
    for (let tries = 0; held === undefined; tries++) {
      assert.ok(tries < 50, 'the victim never held a job when frozen');
      victim.child.kill('SIGSTOP');
      await new Promise((resolve) => setTimeout(resolve, 50));
      for (const key of await redis.keys(`${prefix}:ingest:*:lock`)) {
        if ((await redis.get(key))?.includes(`:${victimPid}:`)) held = key.split(':').at(-2);
      }
      if (held === undefined) {
        victim.child.kill('SIGCONT');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
    assert.equal(await victim.kill('SIGKILL'), 'SIGKILL');
    const convertedByVictim = conversionsIn(victim.output());
    assert.ok(convertedByVictim.length < PAGES, 'killed mid-object');

    const done = await finished(server!.url, TOKEN, id);
    assert.equal(done.state, 'done', JSON.stringify(done));
    assert.equal(done.pages.done, PAGES);
    assert.equal(done.pages.failed, 0);

    // The job in the victim's hand was taken back (the stalled check) and finished by the survivor.
    const taken = (await api(server!.url, 'GET', `/api/jobs/${held}`, { token: TOKEN })).body;
    assert.equal(taken.state, 'done', JSON.stringify(taken));
    assert.ok((taken.attempts as number) >= 2, `the job held at the kill ran again: ${JSON.stringify(taken)}`);

    // Exactly once: no page converted by both workers or twice by one. A page with no conversion in
    // the logs was recorded by the victim in the instant before it died: its job ran again and skipped it.
    const pageJobs = (await api(server!.url, 'GET', '/api/jobs?kind=page', { token: TOKEN })).body.jobs as Json[];
    assert.equal(pageJobs.length, PAGES, 'one page job per page');
    const converted = [...convertedByVictim, ...conversionsIn(survivor.output())];
    const times = new Map<string, number>();
    for (const identifier of converted) times.set(identifier, (times.get(identifier) ?? 0) + 1);
    for (const job of pageJobs) {
      const n = times.get(job.identifier as string) ?? 0;
      assert.ok(n === 1 || (n === 0 && job.outcome === 'skipped' && (job.attempts as number) >= 2), `${job.identifier} converted ${n} times (${JSON.stringify(job)})`);
      assert.equal(job.state, 'done');
    }
    assert.ok(times.size >= PAGES - 1 && [...times.values()].every((n) => n === 1));

    // The catalog: 40 rows, in order, each the derivative of its own master (by pixels).
    const db = new Database(path.join(data, 'catalog.sqlite'), { readonly: true });
    const rows = db.prepare('SELECT identifier, sequence, derivative_path FROM pages WHERE object_id = ? ORDER BY sequence').all('box1') as { identifier: string; sequence: number; derivative_path: string }[];
    db.close();
    assert.deepEqual(rows.map((r) => r.sequence), Array.from({ length: PAGES }, (_, i) => i + 1));
    for (const [i, row] of rows.entries()) {
      assert.equal(row.identifier, `box1/page-${String(i + 1).padStart(3, '0')}`);
      const { dominant } = await sharp(row.derivative_path).stats();
      const want = colour(i + 1);
      assert.ok(Math.abs(dominant.r - want.r) <= 16 && Math.abs(dominant.g - want.g) <= 16 && Math.abs(dominant.b - want.b) <= 16, `${row.identifier}: ${JSON.stringify(dominant)} is not ${JSON.stringify(want)}`);
    }
    const images = await filesUnder(path.join(data, 'images'));
    assert.equal(images.length, PAGES, images.join(', '));
    assert.deepEqual(await filesUnder(path.join(data, '.tmp-ingest')), [], 'nothing left under a temporary name');
    const temporaries = await readdir(path.join(data, '.tmp-ingest'));
    assert.ok(!temporaries.some((name) => name.includes(`_${victimPid}_`)), `the victim's temporary folder is swept: ${temporaries.join(', ')}`);
    // Served by the server, which converted nothing itself.
    const manifest = (await (await fetch(`${server!.url}/iiif/manifest/box1`)).json()) as Json;
    assert.equal((manifest.items as Json[]).length, PAGES);
    const top = (await (await fetch(`${server!.url}/iiif/collection/top`)).json()) as Json;
    assert.ok(JSON.stringify(top).includes('/iiif/manifest/box1'));
    // The server heard every worker's job ends through BullMQ's event stream: 40 pages done, once each.
    const pagesDone = await until('the server to count the 40 pages', async () => {
      const n = valueOf(await scrape(server!.url), 'vitrine_ingest_jobs_finished_total', { kind: 'page', outcome: 'done' });
      return n >= PAGES ? n : undefined;
    });
    assert.equal(pagesDone, PAGES);
    const samples = await scrape(server!.url);
    assert.equal(valueOf(samples, 'vitrine_ingest_jobs_finished_total', { kind: 'object', outcome: 'done' }), 1);
    assert.equal(valueOf(samples, 'vitrine_ingest_jobs', { state: 'done' }), PAGES + 1, 'the queue\'s depth, read from Redis');
    assert.equal(valueOf(samples, 'vitrine_ingest_jobs', { state: 'running' }), 0);
  });

  it('SIGTERM stops a worker gracefully: exit 0, no job left held, the rest done by a new worker', async () => {
    const survivor = workers[1]!;
    const posted = await api(server!.url, 'POST', '/api/ingest', { token: TOKEN, body: { path: 'box2' } });
    await until('box2 planned', async () => ((await api(server!.url, 'GET', `/api/jobs/${posted.body.id}`, { token: TOKEN })).body.pages?.total > 0 ? true : undefined));
    assert.equal(await survivor.kill('SIGTERM'), 0, survivor.output().split('\n').slice(-5).join('\n'));
    assert.match(survivor.output(), /SIGTERM: taking no new job/);
    const running = (await api(server!.url, 'GET', '/api/jobs?state=running', { token: TOKEN })).body.jobs as Json[];
    assert.deepEqual(running, [], 'nothing held by the stopped worker');
    workers.push(await startWorker());
    const done = await finished(server!.url, TOKEN, posted.body.id as string);
    assert.equal(done.state, 'done');
    assert.equal(done.pages.done, 6);
  });

  it('the same folder ingested again converts only the master that changed (its content is a new job), and serves its new pixels', async () => {
    const worker = workers.at(-1)!;
    const before = conversionsIn(worker.output()).length;
    await sharp({ create: { width: 64, height: 64, channels: 3, background: { r: 250, g: 10, b: 10 } } }).tiff().toFile(path.join(masters, 'box2', 'p2.tif'));
    const posted = await api(server!.url, 'POST', '/api/ingest', { token: TOKEN, body: { path: 'box2' } });
    assert.equal(posted.status, 202);
    const done = await finished(server!.url, TOKEN, posted.body.id as string);
    assert.equal(done.state, 'done', JSON.stringify(done));
    assert.deepEqual(conversionsIn(worker.output()).slice(before), ['box2/p2'], 'only the changed master is converted');
    const jobs = (await api(server!.url, 'GET', `/api/jobs/${posted.body.id}`, { token: TOKEN })).body;
    assert.equal(jobs.pages.total, 6, 'its pages now: the five kept, and the new job of p2 (the key holds the master content)');
    assert.equal(jobs.pages.done, 6);
    const region = await fetch(`${server!.url}/iiif/3/box2%2Fp2/full/max/0/default.png`);
    assert.equal(region.status, 200);
    const { dominant } = await sharp(Buffer.from(await region.arrayBuffer())).stats();
    assert.ok(dominant.r > 200 && dominant.g < 60, `the new pixels are served: ${JSON.stringify(dominant)}`);
  });

  it('vitrine worker refuses bad settings with exit 2 and a line naming them, before touching the data folder', async () => {
    const badUrl = await vitrine('worker', '--queue', 'http://127.0.0.1:6379', '--data', path.join(dir, 'never'), '--masters', masters);
    assert.equal(badUrl.code, 2);
    assert.match(badUrl.stderr, /queue: http:\/\/ is not supported/);
    assert.equal(existsSync(path.join(dir, 'never')), false);
    const noMasters = await vitrine('worker', '--queue', REDIS_URL, '--data', data, '--masters', path.join(dir, 'nope'));
    assert.equal(noMasters.code, 2);
    assert.match(noMasters.stderr, /--masters: .*nope is not a folder/);
    const help = await vitrine('worker', '--help');
    assert.equal(help.code, 0);
    assert.match(help.stdout, /--concurrency <n>/);
    assert.match(help.stdout, /SIGTERM/);
  });
});
