import assert from 'node:assert/strict';
import { mkdir, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { loadServeConfig } from '../../src/config/load.js';
import { LOG_REDACT } from '../../src/log.js';
import { DEFAULT_SETTINGS } from '../../src/pipeline/default-settings.js';
import { runConversion } from '../../src/pipeline/run.js';
import { buildApp } from '../../src/server/app.js';
import { pagePicture } from '../helpers/corpus.js';
import { assertValid3, getJson, type Json } from '../helpers/presentation.js';
import { startServer, tempDir, type RunningServer } from '../helpers/server.js';
import { OBJECTS, writeMasters } from '../presentation/corpus.js';
import { api, finished, until } from './helpers.js';

const TOKEN = 'ingest-test-token-5b1f0c2e9d';
const FOLDER_2 = OBJECTS.find((o) => o.folder === 'Fonds A/Box 1/Folder 2')!;
const FOLDER_3 = OBJECTS.find((o) => o.folder === 'Fonds A/Box 1/Folder 3')!;

/** Each page of an object's manifest: the Image API identifier of its image. */
const imageIds = (manifest: Json): string[] =>
  (manifest.items as Json[]).map((canvas) => {
    const service = canvas.items[0].items[0].body.service[0];
    return decodeURIComponent((service.id as string).replace(/.*\/iiif\/3\//, ''));
  });

/** The catalog's pages (identifier → converted at), read as another process would. */
function catalogPages(file: string, objectId: string): Map<string, string> {
  const db = new Database(file, { readonly: true });
  try {
    const rows = db.prepare('SELECT identifier, converted_at FROM pages WHERE object_id = ? ORDER BY sequence').all(objectId) as { identifier: string; converted_at: string }[];
    return new Map(rows.map((r) => [r.identifier, r.converted_at]));
  } finally {
    db.close();
  }
}

describe('ingest API: queue object folders over HTTP, convert them in the server, serve them', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let masters: string;
  let data: string;
  let app: FastifyInstance;
  let base: string;
  let disabled: RunningServer;
  let logs = '';

  before(async () => {
    ({ dir, cleanup } = await tempDir('vitrine-ingest-api-'));
    masters = path.join(dir, 'masters');
    data = path.join(dir, 'data');
    await writeMasters(masters);
    // A corrupt master in Folder 3: a TIFF cut in half.
    const good = await pagePicture(12).tiff({ compression: 'lzw' }).toBuffer();
    await writeFile(path.join(masters, FOLDER_3.folder, 'scan_03.tif'), good.subarray(0, Math.floor(good.length / 2)));
    await writeFile(path.join(masters, 'not-a-folder.tif'), good);
    await mkdir(path.join(dir, 'outside'));
    await symlink(path.join(dir, 'outside'), path.join(masters, 'link-out'));
    // Every log line at every level, with the server's own redaction, to check the token never shows.
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logs += chunk.toString();
        done();
      },
    });
    const config = loadServeConfig({ data, masters, apiToken: TOKEN, port: 0 }, { env: {} });
    app = await buildApp(config, pino({ level: 'trace', redact: LOG_REDACT }, sink));
    base = await app.listen({ port: 0, host: '127.0.0.1' });
    disabled = await startServer(undefined, { data: path.join(dir, 'data-2'), masters });
  });
  after(async () => {
    await app?.close();
    await disabled?.close();
    await cleanup();
  });

  it('is disabled (404, saying how to enable it) when no token is configured', async () => {
    const { status, body } = await api(disabled.url, 'POST', '/api/ingest', { token: TOKEN, body: { path: 'plain' } });
    assert.equal(status, 404);
    assert.match(body.error, /disabled.*--api-token/);
  });

  it('refuses requests without the token (401, WWW-Authenticate: Bearer) and with a wrong one (403)', async () => {
    const none = await api(base, 'POST', '/api/ingest', { body: { path: 'plain' } });
    assert.equal(none.status, 401);
    assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer/);
    const basic = await api(base, 'GET', '/api/jobs', { headers: { authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}` } });
    assert.equal(basic.status, 401);
    const wrong = await api(base, 'POST', '/api/ingest', { token: `${TOKEN}x`, body: { path: 'plain' } });
    assert.equal(wrong.status, 403);
    const shorter = await api(base, 'GET', '/api/jobs', { token: TOKEN.slice(0, -1) });
    assert.equal(shorter.status, 403);
    assert.equal((await api(base, 'GET', '/api/jobs', { token: TOKEN })).status, 200);
    assert.deepEqual((await api(base, 'GET', '/api/jobs', { token: TOKEN })).body.jobs, [], 'the refused requests queued nothing');
  });

  it('refuses paths that leave the masters root, are absolute, missing or not folders, naming the path', async () => {
    const cases: [unknown, number, RegExp][] = [
      [{ path: '/etc' }, 400, /"\/etc".*not absolute/],
      [{ path: '../outside' }, 400, /"\.\.\/outside".*'\.\.'/],
      [{ path: 'plain/../../outside' }, 400, /'\.\.'/],
      [{ path: 'no/such/folder' }, 404, /"no\/such\/folder": no such folder/],
      [{ path: 'not-a-folder.tif' }, 400, /not a folder/],
      [{ path: 'link-out' }, 400, /"link-out": leads outside/],
      [{ paths: ['plain', 'nope'] }, 404, /"nope"/],
      [{}, 400, /either "path".*or "paths"/],
      [{ paths: [] }, 400, /non-empty list/],
      [{ path: 42 }, 400, /got 42/],
    ];
    for (const [body, status, message] of cases) {
      const answer = await api(base, 'POST', '/api/ingest', { token: TOKEN, body });
      assert.equal(answer.status, status, `${JSON.stringify(body)} → ${answer.status} ${JSON.stringify(answer.body)}`);
      assert.match(answer.body.error, message);
    }
    const huge = await api(base, 'POST', '/api/ingest', { token: TOKEN, body: { paths: Array.from({ length: 20_000 }, () => 'plain/x'.repeat(4)) } });
    assert.equal(huge.status, 413, 'bounded body');
    assert.equal((await api(base, 'GET', '/api/jobs?state=bogus', { token: TOKEN })).status, 400);
    assert.deepEqual((await api(base, 'GET', '/api/jobs', { token: TOKEN })).body.jobs, [], 'a refused request queues nothing, not even its good paths');
  });

  it('ingests objects: 202 with status URLs; a corrupt master fails its page with its reason, the rest of the object is served', async () => {
    const posted = await api(base, 'POST', '/api/ingest', { token: TOKEN, body: { paths: [FOLDER_3.folder, FOLDER_2.folder] } });
    assert.equal(posted.status, 202, JSON.stringify(posted.body));
    const [job3, job2] = posted.body.jobs as Json[];
    assert.equal(job3!.folder, FOLDER_3.folder);
    assert.equal(job3!.status, `${base}/api/jobs/${job3!.id}`);

    const done2 = await finished(base, TOKEN, job2!.id);
    assert.equal(done2.state, 'done');
    assert.deepEqual(done2.pages, { total: 3, done: 3, failed: 0, cancelled: 0, queued: 0, running: 0 });
    const { body: manifest2 } = await getJson(done2.manifest as string);
    assertValid3(manifest2, 'the ingested manifest');
    assert.deepEqual(imageIds(manifest2), ['Fonds-A/Box-1/Folder-2/p-001', 'Fonds-A/Box-1/Folder-2/p-002', 'Fonds-A/Box-1/Folder-2/p-003']);
    assert.deepEqual(manifest2.label, { en: ['Letters of Jane Doe'], fr: ['Lettres de Jane Doe'] }, 'the sidecar is recorded');
    assert.deepEqual((manifest2.items as Json[]).map((c) => [c.width, c.height]), FOLDER_2.pages.map((p) => [p.width, p.height]));

    const done3 = await finished(base, TOKEN, job3!.id);
    assert.equal(done3.state, 'done', 'the object is done, without its broken page');
    assert.equal(done3.pages.failed, 1);
    assert.equal(done3.pages.done, 2);
    const failed = (await api(base, 'GET', '/api/jobs?state=failed', { token: TOKEN })).body.jobs as Json[];
    assert.equal(failed.length, 1);
    assert.equal(failed[0]!.kind, 'page');
    assert.equal(failed[0]!.source, `${FOLDER_3.folder}/scan_03.tif`);
    assert.match(failed[0]!.error, /scan_03\.tif: .*(truncated|damaged)/);
    const { body: manifest3 } = await getJson(`${base}/iiif/manifest/${FOLDER_3.id}`);
    assertValid3(manifest3, 'the manifest of the object with a broken page');
    assert.deepEqual(imageIds(manifest3), ['Fonds-A/Box-1/Folder-3/scan_01', 'Fonds-A/Box-1/Folder-3/scan_02']);
    for (const id of imageIds(manifest3)) assert.equal((await fetch(`${base}/iiif/3/${encodeURIComponent(id)}/info.json`)).status, 200);
  });

  it('ingesting again converts nothing twice (page jobs keyed by master content)', async () => {
    const catalog = path.join(data, 'catalog.sqlite');
    const before = catalogPages(catalog, FOLDER_2.id);
    const pageJobs = (await api(base, 'GET', '/api/jobs?kind=page', { token: TOKEN })).body.jobs as Json[];
    const derivative = path.join(data, 'images', 'Fonds-A/Box-1/Folder-2/p-001.tif');
    const mtime = (await stat(derivative)).mtimeMs;
    const again = await api(base, 'POST', '/api/ingest', { token: TOKEN, body: { path: FOLDER_2.folder } });
    assert.equal(again.status, 202);
    assert.equal((await finished(base, TOKEN, again.body.id)).state, 'done');
    assert.deepEqual(catalogPages(catalog, FOLDER_2.id), before, 'same pages, same conversion times');
    assert.equal((await stat(derivative)).mtimeMs, mtime);
    const pageJobsAfter = (await api(base, 'GET', '/api/jobs?kind=page', { token: TOKEN })).body.jobs as Json[];
    assert.equal(pageJobsAfter.length, pageJobs.length, 'no new page job');
    assert.ok(pageJobsAfter.every((j) => j.state === 'done' || j.source === `${FOLDER_3.folder}/scan_03.tif`));
  });

  it('retry: a failed job runs again (409 for a job that is not failed); a fixed master is picked up by ingesting its object again', async () => {
    const failed = ((await api(base, 'GET', '/api/jobs?state=failed', { token: TOKEN })).body.jobs as Json[])[0]!;
    const objects = (await api(base, 'GET', '/api/jobs?kind=object&state=done', { token: TOKEN })).body.jobs as Json[];
    assert.equal((await api(base, 'POST', `/api/jobs/${objects[0]!.id}/retry`, { token: TOKEN })).status, 409);
    assert.equal((await api(base, 'POST', '/api/jobs/999999/retry', { token: TOKEN })).status, 404);
    const retried = await api(base, 'POST', `/api/jobs/${failed.id}/retry`, { token: TOKEN });
    assert.equal(retried.status, 202);
    assert.equal(retried.body.attempts, 0);
    const again = await finished(base, TOKEN, failed.id);
    assert.equal(again.state, 'failed', 'still the same broken master');
    assert.equal(again.attempts, 1);

    await pagePicture(12).tiff({ compression: 'lzw' }).toFile(path.join(masters, FOLDER_3.folder, 'scan_03.tif'));
    const posted = await api(base, 'POST', '/api/ingest', { token: TOKEN, body: { path: FOLDER_3.folder } });
    const done = await finished(base, TOKEN, posted.body.id);
    assert.equal(done.pages.done, 3);
    const { body: manifest } = await getJson(`${base}/iiif/manifest/${FOLDER_3.id}`);
    assert.deepEqual(imageIds(manifest), ['Fonds-A/Box-1/Folder-3/scan_01', 'Fonds-A/Box-1/Folder-3/scan_02', 'Fonds-A/Box-1/Folder-3/scan_03']);
  });

  it('cancel: the object job and its pages are cancelled, the object is not recorded; a finished job cannot be cancelled (409)', async () => {
    const posted = await api(base, 'POST', '/api/ingest', { token: TOKEN, body: { path: 'plain' } });
    const cancelled = await api(base, 'DELETE', `/api/jobs/${posted.body.id}`, { token: TOKEN });
    assert.equal(cancelled.status, 200, JSON.stringify(cancelled.body));
    assert.equal(cancelled.body.state, 'cancelled');
    const settled = await until('the queue to settle', async () => {
      const jobs = (await api(base, 'GET', '/api/jobs', { token: TOKEN })).body.jobs as Json[];
      return jobs.some((j) => ['queued', 'running', 'waiting'].includes(j.state)) ? undefined : jobs;
    });
    assert.ok(settled.filter((j) => j.objectId === 'plain').every((j) => j.state === 'cancelled'));
    assert.equal((await api(base, 'GET', `/api/jobs/${posted.body.id}`, { token: TOKEN })).body.state, 'cancelled');
    assert.equal((await fetch(`${base}/iiif/manifest/plain`)).status, 404);
    assert.equal((await api(base, 'POST', `/api/jobs/${posted.body.id}/cancel`, { token: TOKEN })).status, 409);
  });

  it('gives the identifiers a whole-tree vitrine convert gives, and such a convert finds the ingested pages up to date', async () => {
    const fresh = path.join(dir, 'fresh');
    await runConversion({ masters, out: fresh, workers: 1, settings: DEFAULT_SETTINGS, dryRun: false });
    for (const object of [FOLDER_2, FOLDER_3]) {
      assert.deepEqual([...catalogPages(path.join(fresh, 'catalog.sqlite'), object.id).keys()], [...catalogPages(path.join(data, 'catalog.sqlite'), object.id).keys()]);
    }
    const catalog = path.join(data, 'catalog.sqlite');
    const before = catalogPages(catalog, FOLDER_2.id);
    const report = await runConversion({ masters, out: data, workers: 1, settings: DEFAULT_SETTINGS, dryRun: false });
    assert.deepEqual(catalogPages(catalog, FOLDER_2.id), before, 'not converted again');
    const ingested = FOLDER_2.pages.length + FOLDER_3.pages.length + 1;
    assert.ok(report.totals.skipped >= ingested, `skipped ${report.totals.skipped}, expected at least the ${ingested} ingested pages`);
  });

  it('never logs the token', () => {
    assert.match(logs, /ingest: object Fonds-A\/Box-1\/Folder-2 recorded/, 'the capture works');
    assert.ok(!logs.includes(TOKEN.slice(0, 12)), 'the token appears in the logs');
  });
});
