import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { JobStateError, type NewJob } from '../../src/ingest/jobs.js';
import { SqliteJobQueue } from '../../src/ingest/sqlite-queue.js';
import { tempDir } from '../helpers/server.js';

const page = (n: number, parent?: string): NewJob => ({
  key: `page:${n}`,
  data: { kind: 'page', objectId: 'o', identifier: `o/${n}`, source: `o/${n}.tif`, sourcePage: 0, sequence: n, size: 1, mtimeMs: 1 },
  parent,
  renew: 'unsuccessful',
});

describe('SqliteJobQueue (the embedded engine, a real SQLite file)', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let clock = 1_000_000;
  const now = (): number => clock;
  let file: string;

  before(async () => {
    ({ dir, cleanup } = await tempDir('vitrine-queue-'));
    file = path.join(dir, 'catalog.sqlite');
  });
  after(() => cleanup());

  it('one job per key: enqueueing the same key again returns the same job', async () => {
    const queue = new SqliteJobQueue(file, { now });
    const a = await queue.enqueue(page(1));
    const b = await queue.enqueue(page(1));
    assert.equal(a.id, b.id);
    assert.equal((await queue.list({ kind: 'page' })).filter((j) => j.key === 'page:1').length, 1);
    await queue.close();
  });

  it('a claimed job is held under a lease; once the lease runs out another worker takes it, and the first cannot report back', async () => {
    const queue = new SqliteJobQueue(file, { now, maxAttempts: 3 });
    await queue.enqueue(page(2));
    const first = await queue.claim('w1', 1000);
    assert.equal(first?.key, 'page:1', 'oldest first');
    const second = await queue.claim('w1', 1000);
    assert.equal(second?.key, 'page:2');
    assert.equal(await queue.claim('w2', 1000), undefined, 'nothing else to claim while leases hold');
    assert.ok(await queue.heartbeat(first!.id, 'w1', 1000), 'heartbeat of the holder');
    assert.ok(await queue.complete(first!.id, 'w1', { outcome: 'converted' }));
    clock += 1001;
    const taken = await queue.claim('w2', 1000);
    assert.equal(taken?.id, second!.id, 'a lapsed lease is claimable again (its worker died)');
    assert.equal(taken?.attempts, 2);
    assert.equal(await queue.complete(second!.id, 'w1'), false, 'the old holder lost it');
    assert.equal(await queue.heartbeat(second!.id, 'w1', 1000), false);
    assert.ok(await queue.complete(second!.id, 'w2'));
    assert.equal((await queue.get(first!.id))?.progress.outcome, 'converted');
    await queue.close();
  });

  it('a retryable failure backs off exponentially, then fails for good with its reason after the last attempt', async () => {
    const queue = new SqliteJobQueue(file, { now, maxAttempts: 3, backoffMs: 100 });
    const job = await queue.enqueue(page(3));
    let claimed = await queue.claim('w', 1000);
    assert.equal(claimed?.id, job.id);
    let after = await queue.fail(job.id, 'w', 'EIO reading', { retryable: true });
    assert.equal(after?.state, 'queued');
    assert.equal(Date.parse(after!.runAt), clock + 100);
    assert.equal(await queue.claim('w', 1000), undefined, 'not before its backoff');
    clock += 100;
    claimed = await queue.claim('w', 1000);
    assert.equal(claimed?.attempts, 2);
    after = await queue.fail(job.id, 'w', 'EIO again', { retryable: true });
    assert.equal(Date.parse(after!.runAt), clock + 200, 'the delay doubles');
    clock += 200;
    await queue.claim('w', 1000);
    after = await queue.fail(job.id, 'w', 'EIO for good', { retryable: true });
    assert.equal(after?.state, 'failed');
    assert.equal(after?.error, 'EIO for good');
    assert.deepEqual((await queue.list({ state: 'failed' })).map((j) => j.id), [job.id]);
    await queue.close();
  });

  it('a permanent failure (a broken master) fails at once; retry queues it again with its attempts reset', async () => {
    const queue = new SqliteJobQueue(file, { now, maxAttempts: 3 });
    const job = await queue.enqueue(page(4));
    await queue.claim('w', 1000);
    const failed = await queue.fail(job.id, 'w', 'not an image', { retryable: false });
    assert.equal(failed?.state, 'failed');
    assert.equal(failed?.attempts, 1);
    const retried = await queue.retry(job.id);
    assert.equal(retried.state, 'queued');
    assert.equal(retried.attempts, 0);
    assert.equal(retried.error, undefined);
    await assert.rejects(queue.retry(job.id), JobStateError, 'only a failed or cancelled job');
    // Enqueueing a failed job's key again renews it too.
    await queue.claim('w', 1000);
    await queue.fail(job.id, 'w', 'still not an image', { retryable: false });
    assert.equal((await queue.enqueue(page(4))).state, 'queued');
    await queue.close();
  });

  it('a worker stopping hands its job back without counting the attempt; a dead worker\'s jobs are taken back at once', async () => {
    const queue = new SqliteJobQueue(file, { now });
    const job = await queue.claim('w-stopping', 60_000);
    assert.ok(job);
    assert.ok(await queue.release(job.id, 'w-stopping'));
    const again = await queue.claim('w-dead', 60_000);
    assert.equal(again?.id, job.id);
    assert.equal(again?.attempts, job.attempts, 'a hand-back is not an attempt');
    assert.equal(await queue.recover((w) => w === 'someone-else'), 0);
    assert.equal(await queue.recover((w) => w === 'w-dead'), 1);
    assert.equal((await queue.get(job.id))?.state, 'queued');
    await queue.complete(job.id, 'w-dead').then((ok) => assert.equal(ok, false));
    const last = await queue.claim('w', 60_000);
    assert.ok(await queue.complete(last!.id, 'w'));
    await queue.close();
  });

  it('an object job waiting for its pages is claimable again only once every page job has finished; cancel takes its pages along', async () => {
    const queue = new SqliteJobQueue(file, { now });
    const object = await queue.enqueue({ key: 'object:o', data: { kind: 'object', folder: 'o', phase: 'plan' }, renew: 'finished' });
    assert.equal((await queue.claim('w', 1000))?.id, object.id);
    await queue.enqueue(page(10, object.id));
    await queue.enqueue(page(11, object.id));
    assert.ok(await queue.waitForChildren(object.id, 'w', { kind: 'object', folder: 'o', phase: 'finalise' }));
    assert.equal((await queue.get(object.id))?.state, 'waiting');
    const p1 = await queue.claim('w', 1000);
    assert.equal(p1?.kind, 'page', 'its pages come first');
    await queue.complete(p1!.id, 'w');
    const p2 = await queue.claim('w', 1000);
    assert.equal(p2?.kind, 'page', 'not the object while a page is unfinished');
    await queue.fail(p2!.id, 'w', 'broken', { retryable: false });
    const back = await queue.claim('w', 1000);
    assert.equal(back?.id, object.id);
    assert.deepEqual(back?.data, { kind: 'object', folder: 'o', phase: 'finalise' });
    assert.deepEqual((await queue.children(object.id)).map((c) => c.state), ['done', 'failed']);
    await queue.complete(object.id, 'w');
    await assert.rejects(queue.cancel(object.id), JobStateError, 'a done job cannot be cancelled');

    const other = await queue.enqueue({ key: 'object:p', data: { kind: 'object', folder: 'p', phase: 'plan' }, renew: 'finished' });
    await queue.claim('w', 1000);
    await queue.enqueue(page(20, other.id));
    await queue.waitForChildren(other.id, 'w', { kind: 'object', folder: 'p', phase: 'finalise' });
    const cancelled = await queue.cancel(other.id);
    assert.equal(cancelled.state, 'cancelled');
    assert.deepEqual((await queue.children(other.id)).map((c) => c.state), ['cancelled']);
    assert.equal(await queue.claim('w', 1000), undefined, 'nothing left to run');
    await queue.close();
  });

  it('jobs survive the process: a second connection (a restart) sees them all', async () => {
    const queue = new SqliteJobQueue(file, { now });
    const all = await queue.list({});
    assert.ok(all.length >= 8);
    assert.deepEqual(await queue.get('999999'), undefined);
    assert.deepEqual(await queue.get('not-a-number'), undefined);
    await queue.close();
  });
});
