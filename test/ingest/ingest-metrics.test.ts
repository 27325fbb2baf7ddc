import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pagePicture } from '../helpers/corpus.js';
import { scrape, valueOf } from '../helpers/metrics.js';
import { startServer, tempDir, type RunningServer } from '../helpers/server.js';
import { api, finished } from './helpers.js';

// The ingest queue in /metrics: jobs by state (the queue's depth) and, as jobs finish, their count
// by kind and outcome and their durations, so an operator sees pages/s and a growing backlog.

const TOKEN = 'metrics-test-token-0123456789';

describe('/metrics with the ingest service', () => {
  let cleanup: () => Promise<void>;
  let server: RunningServer;

  before(async () => {
    const tmp = await tempDir('vitrine-ingest-metrics-');
    cleanup = tmp.cleanup;
    const masters = path.join(tmp.dir, 'masters');
    await mkdir(path.join(masters, 'letters'), { recursive: true });
    for (const n of [1, 2]) await writeFile(path.join(masters, 'letters', `p${n}.png`), await pagePicture(n, 160, 120).png().toBuffer());
    // A master cut short: its page job fails.
    const broken = await pagePicture(3, 160, 120).png().toBuffer();
    await writeFile(path.join(masters, 'letters', 'p3.png'), broken.subarray(0, 100));
    server = await startServer(undefined, { data: path.join(tmp.dir, 'data'), masters, apiToken: TOKEN });
  });
  after(async () => {
    await server?.close();
    await cleanup?.();
  });

  it('counts jobs by state, finished jobs by kind and outcome, and their durations', async () => {
    const before = await scrape(server.url);
    assert.equal(valueOf(before, 'vitrine_ingest_jobs', { state: 'done' }), 0, 'no job done yet');
    const { status, body } = await api(server.url, 'POST', '/api/ingest', { token: TOKEN, body: { path: 'letters' } });
    assert.equal(status, 202, JSON.stringify(body));
    // One path: the answer is its job (a list of paths answers `jobs`).
    const job = await finished(server.url, TOKEN, String(body.id));
    assert.equal(job.state, 'done', JSON.stringify(job));

    const samples = await scrape(server.url);
    assert.equal(valueOf(samples, 'vitrine_ingest_jobs', { state: 'done' }), 3, 'the object job and two page jobs are done');
    assert.equal(valueOf(samples, 'vitrine_ingest_jobs', { state: 'failed' }), 1, 'the broken page failed');
    assert.equal(valueOf(samples, 'vitrine_ingest_jobs', { state: 'queued' }), 0, 'nothing left queued');
    assert.equal(valueOf(samples, 'vitrine_ingest_jobs_finished_total', { kind: 'page', outcome: 'done' }), 2);
    assert.equal(valueOf(samples, 'vitrine_ingest_jobs_finished_total', { kind: 'page', outcome: 'failed' }), 1);
    assert.equal(valueOf(samples, 'vitrine_ingest_jobs_finished_total', { kind: 'object', outcome: 'done' }), 1);
    assert.equal(valueOf(samples, 'vitrine_ingest_job_duration_seconds_count', { kind: 'page' }), 2, 'a duration per page done');
    assert.ok(valueOf(samples, 'vitrine_ingest_job_duration_seconds_sum', { kind: 'object' }) > 0, 'the object took some time');
  });
});
