import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { S3Client } from '@aws-sdk/client-s3';
import Database from 'better-sqlite3';
import sharp from 'sharp';
import { BullJobQueue } from '../../src/ingest/bullmq-queue.js';
import { CLI, serveCli, vitrine, workerCli, type CliServer, type CliWorker } from '../helpers/cli.js';
import { pagePicture } from '../helpers/corpus.js';
import { decode, fetchBytes } from '../helpers/pixels.js';
import type { Json } from '../helpers/presentation.js';
import { assertWhole as assertWholeObjects, listKeys, objectBytes, startS3, type RunningS3 } from '../helpers/s3.js';
import { startServer, tempDir, type RunningServer } from '../helpers/server.js';
import { api, conversionsIn, filesUnder, finished, freezeMidPage, REDIS_URL, until } from './helpers.js';

/**
 * The ingest service with masters and derivatives in S3 (s3rver on loopback): `vitrine serve
 * --masters s3://… --images s3://…` queues (it runs no job), two `vitrine worker` processes convert,
 * one of them killed with SIGKILL in the middle of a page; on the Redis queue and on the queue
 * embedded in the catalog. What they made is compared with a local `vitrine convert` of the same
 * masters, by pixels, and served by the server as the local conversion is.
 */

const TOKEN = 's3-workers-token-83c1f0';
const BUCKET = 'vitrine';
const PAGES = 24;
const pageName = (n: number): string => `page-${String(n).padStart(3, '0')}.tif`;

let s3: RunningS3;
let client: S3Client;
let dir: string;
let cleanup: () => Promise<void>;
/** The same masters converted locally by `vitrine convert`, and a server of that conversion. */
let localOut: string;
let localServer: RunningServer;

const list = (prefix: string): Promise<string[]> => listKeys(client, BUCKET, prefix);
const bytesOf = (key: string): Promise<Buffer> => objectBytes(client, BUCKET, key);
const assertWhole = (prefix: string): Promise<string[]> => assertWholeObjects(client, BUCKET, prefix);

before(async () => {
  assert.ok(existsSync(CLI), `${CLI} is missing: build it first (npm run build)`);
  ({ dir, cleanup } = await tempDir('vitrine-s3-workers-'));
  s3 = await startS3(BUCKET);
  client = new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true });
  const local = path.join(dir, 'masters');
  await mkdir(path.join(local, 'box1'), { recursive: true });
  // Pages large enough that a worker is caught in the middle of one (download, convert, upload).
  for (let n = 1; n <= PAGES; n++) {
    const bytes = await pagePicture(n % 8, 400, 300).resize(1600, 1200).tiff({ compression: 'none' }).toBuffer();
    await s3.put(`masters/box1/${pageName(n)}`, bytes);
    await writeFile(path.join(local, 'box1', pageName(n)), bytes);
  }
  const sidecar = Buffer.from('label: Box one, from the bucket\n');
  await s3.put('masters/box1/manifest.yml', sidecar);
  await writeFile(path.join(local, 'box1', 'manifest.yml'), sidecar);
  localOut = path.join(dir, 'local-out');
  const reference = await vitrine('convert', local, '--out', localOut, '--workers', '2');
  assert.equal(reference.code, 0, reference.stderr);
  localServer = await startServer(undefined, { data: localOut });
});

after(async () => {
  await localServer?.close();
  client?.destroy();
  await s3?.close();
  await cleanup?.();
});

for (const engine of ['redis', 'embedded'] as const) {
  describe(`ingest from S3 into S3 on the ${engine} queue: a server and two vitrine worker processes, one killed with SIGKILL mid-page`, () => {
    const prefix = `vitrine-test-${randomUUID().slice(0, 8)}`;
    const queue = engine === 'redis' ? ['--queue', REDIS_URL, '--queue-prefix', prefix] : [];
    const derivatives = `derivatives-${engine}`;
    const s3Args = (): string[] => ['--masters', `s3://${BUCKET}/masters`, '--images', `s3://${BUCKET}/${derivatives}`, '--s3-endpoint', s3.endpoint];
    let data: string;
    let server: CliServer | undefined;
    const workers: CliWorker[] = [];
    const startWorker = (): Promise<CliWorker> => workerCli([...queue, '--data', data, ...s3Args(), '--lease', '1500', '--stalled-interval', '300', '--log-level', 'debug']);

    before(async () => {
      data = path.join(dir, `data-${engine}`);
      server = await serveCli([...queue, '--data', data, ...s3Args(), '--cache-dir', path.join(dir, `cache-${engine}`), '--ingest-workers', '0', '--port', '0'], { VITRINE_API_TOKEN: TOKEN });
      workers.push(await startWorker(), await startWorker());
    });

    after(async () => {
      for (const worker of workers) await worker.kill('SIGKILL');
      await server?.stop();
      if (engine === 'redis') {
        const bull = new BullJobQueue({ url: REDIS_URL, prefix });
        await bull.obliterate();
        await bull.close();
      }
    });

    it('a folder missing from the bucket is a 404 naming it', async () => {
      const missing = await api(server!.url, 'POST', '/api/ingest', { token: TOKEN, body: { path: 'box9/folder2' } });
      assert.equal(missing.status, 404, JSON.stringify(missing.body));
      assert.match(missing.body.error as string, /path "box9\/folder2": no such folder under the masters root/);
      // A prefix of a folder's name is no folder (box matches box1/… only as a string).
      assert.equal((await api(server!.url, 'POST', '/api/ingest', { token: TOKEN, body: { path: 'box' } })).status, 404);
    });

    it('every page is converted once into S3, the same pixels as a local convert, served alike; the killed page is done by the other worker; nothing half-made is left', async (t) => {
      const [victim, survivor] = workers as [CliWorker, CliWorker];
      const posted = await api(server!.url, 'POST', '/api/ingest', { token: TOKEN, body: { path: 'box1' } });
      assert.equal(posted.status, 202, `${JSON.stringify(posted.body)}\n${server!.output().slice(-1500)}`);

      // Once each worker has made a few pages, freeze the victim until it is caught in a page: its
      // derivative staged in its temporary folder (being written, or uploaded), its master downloaded.
      await until('a few pages converted by each worker', async () => (conversionsIn(victim.output()).length >= 2 && conversionsIn(survivor.output()).length >= 2 ? true : undefined));
      const victimPid = victim.child.pid!;
      const caught = await freezeMidPage(victim, data, () => conversionsIn(victim.output()).length + conversionsIn(survivor.output()).length < PAGES);
      assert.equal(await victim.kill('SIGKILL'), 'SIGKILL');
      // Whatever the victim was uploading is not visible: every object there is whole.
      const visibleAtKill = await assertWhole(`${derivatives}/`);
      assert.ok(visibleAtKill.length < PAGES, `killed mid-object (${visibleAtKill.length} of ${PAGES} visible)`);

      const done = await finished(server!.url, TOKEN, posted.body.id as string);
      assert.equal(done.state, 'done', JSON.stringify(done));
      assert.equal(done.pages.done, PAGES);
      assert.equal(done.pages.failed, 0);

      // Once each: a page in both logs, or twice in one, would be a second conversion. The page in
      // the victim's hands ran again (a second attempt) and was converted by the survivor.
      const pageJobs = (await api(server!.url, 'GET', '/api/jobs?kind=page', { token: TOKEN })).body.jobs as Json[];
      assert.equal(pageJobs.length, PAGES, 'one page job per page');
      const byVictim = conversionsIn(victim.output());
      const bySurvivor = conversionsIn(survivor.output());
      const times = new Map<string, number>();
      for (const identifier of [...byVictim, ...bySurvivor]) times.set(identifier, (times.get(identifier) ?? 0) + 1);
      for (const job of pageJobs) {
        const n = times.get(job.identifier as string) ?? 0;
        // A page recorded in the instant before the kill has no log line: its job ran again and skipped it.
        assert.ok(n === 1 || (n === 0 && job.outcome === 'skipped' && (job.attempts as number) >= 2), `${job.identifier} converted ${n} times (${JSON.stringify(job)})`);
      }
      const retried = pageJobs.filter((job) => (job.attempts as number) >= 2);
      t.diagnostic(`killed holding ${caught.join(', ')}; ${visibleAtKill.length} visible then; taken back: ${retried.map((j) => j.identifier).join(', ')}; converted by the victim ${byVictim.length}, the survivor ${bySurvivor.length}`);
      assert.ok(retried.length >= 1, 'the page in the victim\'s hands was taken back');
      for (const job of retried) assert.ok(!byVictim.includes(job.identifier as string) && (bySurvivor.includes(job.identifier as string) || job.outcome === 'skipped'), `${job.identifier} finished by the survivor`);

      // In the bucket: one whole object per page, named by identifier; the catalog in --data points at them.
      const keys = await assertWhole(`${derivatives}/`);
      assert.deepEqual(keys, Array.from({ length: PAGES }, (_, i) => `${derivatives}/box1/${pageName(i + 1)}`));
      const db = new Database(path.join(data, 'catalog.sqlite'), { readonly: true });
      const rows = db.prepare('SELECT identifier, source_path, derivative_path FROM pages WHERE object_id = ? ORDER BY sequence').all('box1') as { identifier: string; source_path: string; derivative_path: string }[];
      db.close();
      assert.equal(rows.length, PAGES);
      assert.equal(rows[0]!.source_path, `s3://${BUCKET}/masters/box1/${pageName(1)}`);
      assert.equal(rows[0]!.derivative_path, `s3://${BUCKET}/${keys[0]}`);
      // Each derivative's pixels are those of the local conversion of the same master.
      for (let n = 1; n <= PAGES; n++) {
        const name = pageName(n);
        const [remote, local] = await Promise.all([decode(sharp(await bytesOf(`${derivatives}/box1/${name}`))), decode(sharp(path.join(localOut, 'images', 'box1', name)))]);
        assert.deepEqual([remote.width, remote.height], [1600, 1200]);
        assert.ok(remote.data.equals(local.data), `${name}: the pixels of the local conversion`);
      }

      // Served: the manifest (its label from the sidecar in the bucket) and tiles equal to the local conversion's.
      const manifest = (await (await fetch(`${server!.url}/iiif/manifest/box1`)).json()) as { label: Record<string, string[]>; items: unknown[] };
      assert.deepEqual(Object.values(manifest.label).flat(), ['Box one, from the bucket']);
      assert.equal(manifest.items.length, PAGES);
      for (const tile of ['box1%2Fpage-001/0,0,512,512/512,/0/default.jpg', 'box1%2Fpage-007/1024,768,576,432/288,/0/default.png', `box1%2Fpage-${String(PAGES).padStart(3, '0')}/full/400,/0/default.jpg`]) {
        const [fromS3, fromDisk] = await Promise.all([fetchBytes(`${server!.url}/iiif/3/${tile}`), fetchBytes(`${localServer.url}/iiif/3/${tile}`)]);
        const [a, b] = await Promise.all([decode(fromS3.body), decode(fromDisk.body)]);
        assert.equal(a.width, b.width);
        assert.ok(a.data.equals(b.data), `${tile}: served as the local conversion is`);
      }

      // No temporary file: the victim's folder was swept by the survivor, and the survivor's own goes when it stops.
      assert.ok(!(await readdir(path.join(data, '.tmp-ingest'))).some((name) => name.includes(`_${victimPid}_`)), 'the victim\'s temporary folder is swept');
      assert.equal(await survivor.kill('SIGTERM'), 0, survivor.output().split('\n').slice(-5).join('\n'));
      assert.deepEqual(await filesUnder(path.join(data, '.tmp-ingest')), [], 'nothing left under a temporary name');
      assert.doesNotMatch(victim.output() + survivor.output() + server!.output(), /S3RVER/, 'no credential in the logs');
    });
  });
}

describe("vitrine serve --masters s3://… converting in its own process: the sidecars in the bucket", () => {
  it("reads an object's manifest.yml and its folders' access.yml from the bucket, and forgets a sidecar deleted there", async () => {
    await s3.put('more/letters/let-001.tif', await pagePicture(1, 600, 400).tiff().toBuffer());
    await s3.put('more/letters/manifest.yml', Buffer.from('label: Letters from the bucket\n'));
    await s3.put('more/secret/access.yml', Buffer.from('access: restricted\nprofile: login\n'));
    await s3.put('more/secret/diary/d-001.jpg', await pagePicture(3, 500, 350).jpeg().toBuffer());
    const data = path.join(dir, 'more-data');
    const server = await serveCli(
      ['--data', data, '--masters', `s3://${BUCKET}/more`, '--images', `s3://${BUCKET}/more-out`, '--s3-endpoint', s3.endpoint, '--cache-dir', path.join(dir, 'more-cache'), '--port', '0'],
      { VITRINE_API_TOKEN: TOKEN },
    );
    try {
      const posted = await api(server.url, 'POST', '/api/ingest', { token: TOKEN, body: { paths: ['letters', 'secret/diary'] } });
      assert.equal(posted.status, 202, JSON.stringify(posted.body));
      for (const job of posted.body.jobs as Json[]) assert.equal((await finished(server.url, TOKEN, job.id as string)).state, 'done');
      assert.deepEqual(await list('more-out/'), ['more-out/letters/let-001.tif', 'more-out/secret/diary/d-001.tif']);
      const label = async (): Promise<string[]> => Object.values(((await (await fetch(`${server.url}/iiif/manifest/letters`)).json()) as { label: Record<string, string[]> }).label).flat();
      assert.deepEqual(await label(), ['Letters from the bucket']);
      assert.equal((await fetch(`${server.url}/iiif/3/letters%2Flet-001/0,0,256,256/256,/0/default.jpg`)).status, 200);
      // The access.yml of a folder above the object, in the bucket, closes its pages.
      assert.equal((await fetch(`${server.url}/iiif/3/secret%2Fdiary%2Fd-001/0,0,256,256/256,/0/default.jpg`)).status, 401);

      // The sidecar deleted from the bucket: the object ingested again loses its label (no stale copy is read).
      await s3.remove('more/letters/manifest.yml');
      const again = await api(server.url, 'POST', '/api/ingest', { token: TOKEN, body: { path: 'letters' } });
      assert.equal((await finished(server.url, TOKEN, again.body.id as string)).state, 'done');
      assert.notDeepEqual(await label(), ['Letters from the bucket']);
    } finally {
      await server.stop();
    }
    assert.deepEqual(await filesUnder(path.join(data, '.tmp-ingest')), [], 'nothing left under a temporary name');
  });
});

describe('vitrine serve --masters s3://… without --images: the derivatives stay in the data folder', () => {
  it("converts the bucket's masters into DATA/images, the pixels of a local convert", async () => {
    const data = path.join(dir, 'local-images-data');
    const server = await serveCli(['--data', data, '--masters', `s3://${BUCKET}/masters`, '--s3-endpoint', s3.endpoint, '--port', '0'], { VITRINE_API_TOKEN: TOKEN });
    try {
      const posted = await api(server.url, 'POST', '/api/ingest', { token: TOKEN, body: { path: 'box1' } });
      assert.equal(posted.status, 202, JSON.stringify(posted.body));
      assert.equal((await finished(server.url, TOKEN, posted.body.id as string)).state, 'done');
    } finally {
      await server.stop();
    }
    const images = (await filesUnder(path.join(data, 'images'))).sort();
    assert.deepEqual(images, Array.from({ length: PAGES }, (_, i) => path.join('box1', pageName(i + 1))));
    for (const name of images) {
      const [ingested, local] = await Promise.all([decode(sharp(path.join(data, 'images', name))), decode(sharp(path.join(localOut, 'images', name)))]);
      assert.ok(ingested.data.equals(local.data), `${name}: the pixels of the local conversion`);
    }
    assert.deepEqual(await filesUnder(path.join(data, '.tmp-ingest')), [], 'nothing left under a temporary name');
  });
});

describe('vitrine serve --masters s3://… with the store down', () => {
  it('answers 502 naming the masters location and the reason, not a bare internal error', async () => {
    const server = await serveCli(['--data', path.join(dir, 'down-data'), '--masters', `s3://${BUCKET}/masters`, '--s3-endpoint', 'http://127.0.0.1:9', '--port', '0'], { VITRINE_API_TOKEN: TOKEN });
    try {
      const answer = await api(server.url, 'POST', '/api/ingest', { token: TOKEN, body: { path: 'box1' } });
      assert.equal(answer.status, 502, JSON.stringify(answer.body));
      assert.match(answer.body.error as string, /^path "box1": the masters cannot be looked up: s3:\/\/vitrine\/masters\/box1\/: S3 is unreachable/);
    } finally {
      await server.stop();
    }
  });
});

describe('vitrine worker and serve with S3: bad settings', () => {
  it('refuses them with exit 2 and one line naming them', async () => {
    const never = path.join(dir, 'never');
    const [badBucket, localImages, stray, watch] = await Promise.all([
      vitrine('worker', '--data', never, '--masters', 's3://Bad_Bucket/masters'),
      vitrine('worker', '--data', never, '--masters', `s3://${BUCKET}/masters`, '--images', path.join(dir, 'images')),
      vitrine('worker', '--data', never, '--masters', path.join(dir, 'masters'), '--s3-endpoint', s3.endpoint),
      vitrine('serve', '--data', never, '--watch', `s3://${BUCKET}/masters`, '--port', '0'),
    ]);
    assert.equal(badBucket.code, 2);
    assert.match(badBucket.stderr, /^vitrine: --masters: 'Bad_Bucket' is not a valid S3 bucket name\n$/);
    assert.equal(localImages.code, 2);
    assert.match(localImages.stderr, /^vitrine: --images: .* is not an s3:\/\/ URL/);
    assert.equal(stray.code, 2);
    assert.match(stray.stderr, /^vitrine: --s3-endpoint: neither --masters nor --images is an s3:\/\/ URL/);
    assert.equal(watch.code, 2);
    assert.match(watch.stderr, /watch: the folder watcher watches local folders only; for masters in S3 give --masters s3:\/\/… and queue object folders with the ingest API/);
    assert.equal(watch.stderr.trim().split('\n').length, 1);
    assert.equal(existsSync(never), false, 'nothing written');
    const help = await vitrine('worker', '--help');
    assert.match(help.stdout, /--images <s3:\/\/bucket\/prefix>/);
    assert.match(help.stdout, /--s3-force-path-style/);
  });
});
