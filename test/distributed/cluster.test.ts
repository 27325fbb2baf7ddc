import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { S3Client } from '@aws-sdk/client-s3';
import { stateDigest } from '../../src/catalog/activities.js';
import { BullJobQueue } from '../../src/ingest/bullmq-queue.js';
import { CLI, serveCli, vitrine, workerCli, type CliServer, type CliWorker } from '../helpers/cli.js';
import { pagePicture } from '../helpers/corpus.js';
import { decode, fetchBytes } from '../helpers/pixels.js';
import { queryIn, scratchSchema } from '../helpers/postgres.js';
import type { Json } from '../helpers/presentation.js';
import { assertWhole, listKeys, startS3, type RunningS3 } from '../helpers/s3.js';
import { startServer, tempDir, type RunningServer } from '../helpers/server.js';
import { api, conversionsIn, filesUnder, finished, freezeMidPage, REDIS_URL, until } from '../ingest/helpers.js';

/**
 * Vitrine deployed as on several machines, every part real and on this machine: masters and
 * derivatives in S3 (s3rver on loopback), the catalog in PostgreSQL (a schema of its own), the
 * queue on Redis (a key prefix of its own), two `vitrine serve` processes (different ports, one
 * config file, each its own data folder and S3 cache, no ingest lanes) and two `vitrine worker`
 * processes (each its own data folder). The corpus is queued through one server's ingest API;
 * a worker is killed with SIGKILL mid-batch, later a server mid-load. What the servers answer is
 * compared between them (bytes) and with a local `vitrine convert` of the same masters (pixels);
 * what is in the bucket is listed with the AWS SDK; what is in the catalog is counted in SQL.
 */

const TOKEN = 'distributed-token-5be1d2';
const BUCKET = 'archive';
const BASE_URL = 'https://iiif.example.org';
const pageName = (n: number): string => `page-${String(n).padStart(3, '0')}.tif`;

/** The corpus: objects (folders under the masters prefix) and their page counts. */
const OBJECTS: Readonly<Record<string, number>> = { 'fonds/box1': 4, 'fonds/box2': 4, letters: 4 };
/** The object queued while a server is killed. */
const LATE: readonly [string, number] = ['fonds/box3', 3];
const identifiers = (objects: Readonly<Record<string, number>>): string[] =>
  Object.entries(objects)
    .flatMap(([id, pages]) => Array.from({ length: pages }, (_, i) => `${id}/${pageName(i + 1).replace(/\.tif$/, '')}`))
    .sort();
const PAGES = identifiers(OBJECTS).length;
const LETTERS_LABEL = 'Letters, from the bucket';
/** A password in the catalog's URL (the PostgreSQL here trusts loopback and ignores it): no log may show it. */
const CATALOG_PASSWORD = 'catalog-secret-71e0';

let dir: string;
let cleanup: () => Promise<void>;
let s3: RunningS3;
let client: S3Client;
let scratch: Awaited<ReturnType<typeof scratchSchema>>;
const prefix = `vitrine-test-${randomUUID().slice(0, 8)}`;
/** The config file every server and worker reads (what they share); each adds its --data (and a server its --cache-dir, --port). */
let config: string;
let localServer: RunningServer;
let masterKeys: string[] = [];
const servers: CliServer[] = [];
const workers: CliWorker[] = [];
/** Each process's data folder (its machine's disk). */
const dataOf = new Map<CliServer | CliWorker, string>();

const serve = async (name: string, port = 0): Promise<CliServer> => {
  const server = await serveCli(['--config', config, '--data', path.join(dir, name), '--cache-dir', path.join(dir, name, 's3-cache'), '--port', String(port)], {
    VITRINE_API_TOKEN: TOKEN,
  });
  servers.push(server);
  dataOf.set(server, path.join(dir, name));
  return server;
};
const work = async (name: string): Promise<CliWorker> => {
  // The servers' config file as it is (queue, catalog, masters, images, S3): the worker passes over their settings.
  const worker = await workerCli(['--config', config, '--data', path.join(dir, name), '--lease', '1500', '--stalled-interval', '300', '--log-level', 'debug']);
  workers.push(worker);
  dataOf.set(worker, path.join(dir, name));
  return worker;
};

/** The scratch schema's URL with a password, as a deployment's would have. */
function catalogUrl(): string {
  const url = new URL(scratch.url);
  url.password = CATALOG_PASSWORD;
  return url.toString();
}

/** Writes one master into the bucket and, the same bytes, into the local folder `vitrine convert` reads. */
async function putMaster(local: string, object: string, n: number, seed: number): Promise<void> {
  // Large enough (5.8 MB, a few tenths of a second to convert) that a worker is caught in the middle of one.
  const bytes = await pagePicture(seed % 8, 400, 300).resize(1600, 1200).tiff({ compression: 'none' }).toBuffer();
  await s3.put(`masters/${object}/${pageName(n)}`, bytes);
  await mkdir(path.join(local, object), { recursive: true });
  await writeFile(path.join(local, object, pageName(n)), bytes);
}

/** What one object's published state is, computed in SQL as the catalog computes it for its activities. */
async function objectDigest(id: string): Promise<string> {
  const pages = await queryIn(scratch.schema, 'SELECT identifier, sequence, source_sha256, settings, derivative_path, width, height FROM pages WHERE object_id = $1 ORDER BY sequence, identifier', [id]);
  const [metadata] = await queryIn<{ metadata: string }>(scratch.schema, 'SELECT metadata FROM object_metadata WHERE object_id = $1', [id]);
  return stateDigest({ pages, metadata: metadata?.metadata ?? null });
}

/**
 * The catalog holds exactly the objects given, each whole: its page rows (each once, pointing at its
 * derivative in the bucket), its page count, and a change log of one Create and Updates whose last
 * state is the object's complete state (no activity stopped halfway).
 */
async function assertCatalogHolds(objects: Readonly<Record<string, number>>): Promise<void> {
  const rows = await queryIn<{ id: string; page_count: number }>(scratch.schema, 'SELECT id, page_count FROM objects ORDER BY id');
  assert.deepEqual(rows, Object.entries(objects).sort(([a], [b]) => a.localeCompare(b)).map(([id, pages]) => ({ id, page_count: pages })));
  const pages = await queryIn<{ identifier: string; derivative_path: string; source_path: string }>(scratch.schema, 'SELECT identifier, derivative_path, source_path FROM pages ORDER BY identifier');
  assert.deepEqual(pages.map((p) => p.identifier), identifiers(objects), 'every page recorded once');
  for (const p of pages) {
    assert.equal(p.derivative_path, `s3://${BUCKET}/derivatives/${p.identifier}.tif`);
    assert.equal(p.source_path, `s3://${BUCKET}/masters/${p.identifier}.tif`);
  }
  for (const id of Object.keys(objects)) {
    const log = await queryIn<{ type: string; state: string | null }>(scratch.schema, "SELECT type, state FROM activities WHERE object_type = 'Manifest' AND object_id = $1 ORDER BY id", [id]);
    assert.deepEqual(log.map((a) => a.type).filter((t) => t !== 'Update'), ['Create'], `${id}: created once, never deleted`);
    assert.equal(log[0]!.type, 'Create');
    assert.equal(log.at(-1)!.state, await objectDigest(id), `${id}: its last activity is of its complete state`);
  }
  const strays = await queryIn(scratch.schema, "SELECT object_id FROM activities WHERE object_type = 'Manifest' AND object_id NOT IN (SELECT id FROM objects)");
  assert.deepEqual(strays, [], 'no activity of an object the catalog does not hold');
}

/** The bucket holds the masters and one whole derivative per page, nothing else (no temporary or partial object). */
async function assertBucketHolds(objects: Readonly<Record<string, number>>): Promise<void> {
  const derivatives = identifiers(objects).map((id) => `derivatives/${id}.tif`);
  assert.deepEqual(await listKeys(client, BUCKET, ''), [...masterKeys, ...derivatives].sort(), 'the whole bucket: masters and derivatives only');
  await assertWhole(client, BUCKET, 'derivatives/');
}

/** The documents and images both servers answer, by path (collections, manifests in 3 and 2.1, info.json, tiles of every page). */
function resources(objects: Readonly<Record<string, number>>): string[] {
  const paths = ['/iiif/collection/top', '/iiif/collection/fonds', '/iiif/presentation/2/collection/top', '/iiif/activity/all-changes'];
  for (const id of Object.keys(objects)) paths.push(`/iiif/manifest/${id}`, `/iiif/presentation/2/manifest/${id}`);
  for (const id of identifiers(objects)) {
    const encoded = encodeURIComponent(id);
    paths.push(`/iiif/3/${encoded}/info.json`, `/iiif/3/${encoded}/0,0,512,512/512,/0/default.jpg`, `/iiif/3/${encoded}/600,300,600,600/300,/0/default.png`, `/iiif/2/${encoded}/full/200,/0/default.jpg`);
  }
  return paths;
}
const isImage = (resource: string): boolean => /\.(jpg|png)$/.test(resource);

before(async () => {
  assert.ok(existsSync(CLI), `${CLI} is missing: build it first (npm run build)`);
  ({ dir, cleanup } = await tempDir('vitrine-distributed-'));
  s3 = await startS3(BUCKET);
  client = new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true });
  scratch = await scratchSchema('vitrine_dist');
  const local = path.join(dir, 'local-masters');
  let seed = 0;
  for (const [object, pages] of [...Object.entries(OBJECTS), LATE]) for (let n = 1; n <= pages; n++) await putMaster(local, object, n, seed++);
  const sidecar = Buffer.from(`label: ${LETTERS_LABEL}\n`);
  await s3.put('masters/letters/manifest.yml', sidecar);
  await writeFile(path.join(local, 'letters', 'manifest.yml'), sidecar);
  masterKeys = await listKeys(client, BUCKET, 'masters/');
  // The reference: the same masters converted by `vitrine convert` on local disk, served by an in-process server.
  const localOut = path.join(dir, 'local-out');
  const reference = await vitrine('convert', local, '--out', localOut, '--workers', '2');
  assert.equal(reference.code, 0, reference.stderr);
  localServer = await startServer(undefined, { data: localOut, baseUrl: BASE_URL });

  config = path.join(dir, 'vitrine.yml');
  await writeFile(
    config,
    [
      `catalog: ${catalogUrl()}`,
      `queue: ${REDIS_URL}`,
      `queuePrefix: ${prefix}`,
      `masters: s3://${BUCKET}/masters`,
      `images: s3://${BUCKET}/derivatives`,
      `s3Endpoint: ${s3.endpoint}`,
      `baseUrl: ${BASE_URL}`,
      'ingestWorkers: 0',
      'accessLog: off',
      '',
    ].join('\n'),
  );
  // One after the other, so that servers[0] is server-a and workers[0] worker-1.
  for (const start of [() => serve('server-a'), () => serve('server-b'), () => work('worker-1'), () => work('worker-2')]) await start();
});

after(async () => {
  for (const worker of workers) await worker.kill('SIGKILL');
  await Promise.all(servers.map((s) => s.stop()));
  await localServer?.close();
  const queue = new BullJobQueue({ url: REDIS_URL, prefix });
  await queue.obliterate();
  await queue.close();
  client?.destroy();
  await s3?.close();
  await scratch?.drop();
  await cleanup?.();
});

describe('two servers, two workers, Redis, PostgreSQL and S3', () => {
  /** What server B answered for every resource once the corpus was in, the bytes a server must keep answering. */
  const answers = new Map<string, Buffer>();

  it('the corpus queued through one server converts once, a worker killed with SIGKILL mid-batch: its page finished by the other, nothing half-made visible', async (t) => {
    const [a] = servers as [CliServer];
    const [victim, survivor] = workers as [CliWorker, CliWorker];
    const posted = await api(a.url, 'POST', '/api/ingest', { token: TOKEN, body: { paths: Object.keys(OBJECTS) } });
    assert.equal(posted.status, 202, JSON.stringify(posted.body));

    const converted = (): number => conversionsIn(victim.output()).length + conversionsIn(survivor.output()).length;
    // Mid-batch: once a few pages are in, freeze the victim in the middle of its page.
    await until('a few pages converted', async () => (converted() >= 3 ? true : undefined));
    const caught = await freezeMidPage(victim, dataOf.get(victim)!, () => converted() < PAGES);
    assert.equal(await victim.kill('SIGKILL'), 'SIGKILL');
    const visibleAtKill = await assertWhole(client, BUCKET, 'derivatives/');
    assert.ok(visibleAtKill.length > 0 && visibleAtKill.length < PAGES, `killed mid-batch (${visibleAtKill.length} of ${PAGES} visible)`);

    for (const job of posted.body.jobs as Json[]) {
      const done = await finished(a.url, TOKEN, job.id as string);
      assert.equal(done.state, 'done', JSON.stringify(done));
      assert.equal(done.pages.failed, 0);
    }
    // Each page converted once: in one log once, or (recorded in the instant before the kill) skipped on its second attempt.
    const pageJobs = (await api(a.url, 'GET', '/api/jobs?kind=page', { token: TOKEN })).body.jobs as Json[];
    assert.deepEqual(pageJobs.map((j) => j.identifier as string).sort(), identifiers(OBJECTS), 'one page job per page');
    const byVictim = conversionsIn(victim.output());
    const bySurvivor = conversionsIn(survivor.output());
    for (const job of pageJobs) {
      const n = [...byVictim, ...bySurvivor].filter((id) => id === job.identifier).length;
      assert.ok(n === 1 || (n === 0 && job.outcome === 'skipped' && (job.attempts as number) >= 2), `${job.identifier} converted ${n} times (${JSON.stringify(job)})`);
    }
    const retried = pageJobs.filter((job) => (job.attempts as number) >= 2);
    t.diagnostic(`killed holding ${caught.join(', ')}; ${visibleAtKill.length} visible then; taken back: ${retried.map((j) => j.identifier).join(', ')}; by the victim ${byVictim.length}, the survivor ${bySurvivor.length}`);
    assert.ok(retried.length >= 1, "the page in the victim's hands was taken back");
    for (const job of retried) assert.ok(!byVictim.includes(job.identifier as string), `${job.identifier} finished by the survivor`);

    await assertBucketHolds(OBJECTS);
    await assertCatalogHolds(OBJECTS);

    // The victim restarted on its machine (its data folder) sweeps what it left half-made there.
    const victimPid = victim.child.pid!;
    assert.ok((await readdir(path.join(dir, 'worker-1', '.tmp-ingest'))).some((name) => name.includes(`_${victimPid}_`)), 'the kill left a temporary folder');
    workers.splice(workers.indexOf(victim), 1);
    await work('worker-1');
    assert.deepEqual(await filesUnder(path.join(dir, 'worker-1', '.tmp-ingest')), [], "the restarted worker swept the killed one's temporary files");
  });

  it('both servers answer the same collections, manifests, activity stream and tiles; manifests and info.json those of a local convert, tiles its pixels', async () => {
    const [a, b] = servers as [CliServer, CliServer];
    for (const resource of resources(OBJECTS)) {
      const [fromA, fromB] = await Promise.all([fetchBytes(`${a.url}${resource}`), fetchBytes(`${b.url}${resource}`)]);
      assert.ok(fromA.body.equals(fromB.body), `${resource}: the same bytes from both servers`);
      answers.set(resource, fromB.body);
      // The collections and the change log hold the late object locally (converted with the rest); manifests and info.json are the same documents.
      if (/\/collection\/|all-changes/.test(resource)) continue;
      const local = (await fetchBytes(`${localServer.url}${resource}`)).body;
      if (!isImage(resource)) {
        assert.ok(fromB.body.equals(local), `${resource}: the bytes of the local conversion's server`);
        continue;
      }
      const [served, reference] = await Promise.all([decode(fromB.body), decode(local)]);
      assert.deepEqual([served.width, served.height], [reference.width, reference.height], resource);
      assert.ok(served.data.equals(reference.data), `${resource}: the pixels of the local conversion`);
    }
    const manifest = JSON.parse(answers.get('/iiif/manifest/letters')!.toString()) as { id: string; label: Record<string, string[]>; items: unknown[] };
    assert.equal(manifest.id, `${BASE_URL}/iiif/manifest/letters`);
    assert.deepEqual(Object.values(manifest.label).flat(), [LETTERS_LABEL], 'the label of the sidecar in the bucket');
    assert.equal(manifest.items.length, OBJECTS.letters);
    const top = JSON.parse(answers.get('/iiif/collection/top')!.toString()) as { items: { id: string }[] };
    assert.deepEqual(top.items.map((i) => i.id).sort(), [`${BASE_URL}/iiif/collection/fonds`, `${BASE_URL}/iiif/manifest/letters`]);
  });

  it('a server killed with SIGKILL mid-load, with an object it queued converting: the other answers correctly throughout, the restarted one the same, the catalog whole', async (t) => {
    const [a, b] = servers as [CliServer, CliServer];
    // Resources that the late object leaves as they are (not the collection of its folder, nor the change log).
    const steady = [...answers.keys()].filter((r) => !/\/collection\/fonds$|all-changes/.test(r));
    const [late, latePages] = LATE;
    const posted = await api(a.url, 'POST', '/api/ingest', { token: TOKEN, body: { path: late } });
    assert.equal(posted.status, 202, JSON.stringify(posted.body));

    // Clients loading both servers, each answer checked against the bytes recorded before.
    const wrong: string[] = [];
    let stop = false;
    const load = async (base: () => string, tally: { ok: number; failed: number; inFlight: number }): Promise<void> => {
      for (let i = 0; !stop; i++) {
        const resource = steady[i % steady.length]!;
        tally.inFlight++;
        try {
          const response = await fetch(`${base()}${resource}`);
          const body = Buffer.from(await response.arrayBuffer());
          if (response.status === 200 && body.equals(answers.get(resource)!)) tally.ok++;
          else wrong.push(`${base()}${resource}: ${response.status} ${body.length} bytes`);
        } catch {
          tally.failed++;
          await new Promise((resolve) => setTimeout(resolve, 50));
        } finally {
          tally.inFlight--;
        }
      }
    };
    const onA = { ok: 0, failed: 0, inFlight: 0 };
    const onB = { ok: 0, failed: 0, inFlight: 0 };
    let aUrl = a.url;
    const loaders = [...Array.from({ length: 3 }, () => load(() => aUrl, onA)), ...Array.from({ length: 3 }, () => load(() => b.url, onB))];
    try {
      await until('server A under load', async () => (onA.ok >= 20 && onA.inFlight > 0 ? true : undefined));
      const port = Number(new URL(a.url).port);
      await a.kill('SIGKILL');
      assert.equal(await a.exited, 'SIGKILL');
      const bBeforeRestart = onB.ok;
      await until('the clients of the killed server to see it gone', async () => (onA.failed > 0 ? true : undefined));
      // The late object is converted with the server that queued it gone: the jobs are on Redis.
      await until(`${late} in the catalog`, async () => ((await queryIn(scratch.schema, 'SELECT 1 FROM objects WHERE id = $1 AND page_count = $2', [late, latePages])).length > 0 ? true : undefined));
      const restarted = await serve('server-a', port);
      const aBeforeRestart = onA.ok;
      aUrl = restarted.url;
      await until('the restarted server answering the clients', async () => (onA.ok >= aBeforeRestart + 10 ? true : undefined));
      t.diagnostic(`server A: ${onA.ok} answers, ${onA.failed} refused or cut around the kill; server B: ${onB.ok} answers (${onB.ok - bBeforeRestart} while A was down or restarting)`);
      assert.ok(onB.ok > bBeforeRestart, 'server B answered while A was down');
    } finally {
      stop = true;
      await Promise.all(loaders);
    }
    assert.deepEqual(wrong, [], 'every answer of either server was the right one');
    assert.equal(onB.failed, 0, 'server B never failed a request');

    // The job queued by the killed server finished; the restarted server reports it (the jobs live on Redis).
    const restarted = servers.at(-1)!;
    const done = await finished(restarted.url, TOKEN, posted.body.id as string);
    assert.equal(done.state, 'done', JSON.stringify(done));
    const all = { ...OBJECTS, [late]: latePages };
    await assertBucketHolds(all);
    await assertCatalogHolds(all);
    // Both answer every resource alike, the late object included.
    for (const resource of resources(all)) {
      const [fromA, fromB] = await Promise.all([fetchBytes(`${restarted.url}${resource}`), fetchBytes(`${b.url}${resource}`)]);
      assert.ok(fromA.body.equals(fromB.body), `${resource}: the same bytes from both servers`);
      if (answers.has(resource) && steady.includes(resource)) assert.ok(fromB.body.equals(answers.get(resource)!), `${resource}: unchanged`);
    }
    const manifest = JSON.parse((await fetchBytes(`${b.url}/iiif/manifest/${late}`)).body.toString()) as { items: unknown[] };
    assert.equal(manifest.items.length, latePages);

    // Servers with their own data folders and no --auth-secret would each sign sessions with their own: they say so.
    for (const server of servers) assert.match(server.output(), /auth: no --auth-secret: sessions and access tokens are signed with .*auth-secret, this server's own/);
    // Every process says which catalog it writes or reads, and none shows a secret.
    for (const process of [...servers, ...workers]) {
      assert.match(process.output(), new RegExp(`catalog PostgreSQL postgres://postgres:\\*\\*\\*@127\\.0\\.0\\.1:5432/test \\(schema ${scratch.schema}\\)`));
      assert.doesNotMatch(process.output(), new RegExp(`${CATALOG_PASSWORD}|S3RVER`), 'no credential in the logs');
    }
  });
});
