import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { BullJobQueue } from '../../src/ingest/bullmq-queue.js';
import { JobStateError, type JobEvent, type NewJob } from '../../src/ingest/jobs.js';
import { REDIS_URL, until } from './helpers.js';

const page = (n: number, parent?: string): NewJob => ({
  key: `page:${n}`,
  data: { kind: 'page', objectId: 'o', identifier: `o/${n}`, source: `o/${n}.tif`, sourcePage: 0, sequence: n, size: 1, mtimeMs: 1 },
  parent,
  renew: 'unsuccessful',
});
const object = (folder: string): NewJob => ({ key: `object:${folder}`, data: { kind: 'object', folder, phase: 'plan' }, renew: 'finished' });

describe('BullJobQueue (the Redis engine, BullMQ on the real Redis of this machine)', () => {
  // A key prefix of this run's own: runs never see each other's jobs, and the keys go at the end.
  const prefix = `vitrine-test-${randomUUID().slice(0, 8)}`;
  const queues: BullJobQueue[] = [];
  const open = (options: { maxAttempts?: number; backoffMs?: number } = {}): BullJobQueue => {
    const queue = new BullJobQueue({ url: REDIS_URL, prefix, stalledIntervalMs: 300, ...options });
    queues.push(queue);
    return queue;
  };
  after(async () => {
    await queues[0]?.obliterate();
    for (const queue of queues) await queue.close();
  });

  it('one job per key, whichever process adds it: a second connection gets the same job', async () => {
    const a = await open().enqueue(page(1));
    const b = await open().enqueue(page(1));
    assert.equal(a.id, b.id);
    assert.equal(a.state, 'queued');
    assert.equal((await queues[0]!.list({ kind: 'page' })).filter((j) => j.key === 'page:1').length, 1);
  });

  it('a claim is a lock: two workers never hold the same job; a lapsed lock is taken back by the stalled check and the first holder cannot report', async () => {
    const q1 = open();
    const q2 = open();
    await q1.enqueue(page(2));
    const first = await q1.claim('w1', 60_000);
    const second = await q2.claim('w2', 400);
    assert.ok(first && second);
    assert.notEqual(first.id, second.id);
    assert.equal(await q2.claim('w2', 60_000), undefined, 'nothing else to claim while locks hold');
    assert.ok(await q1.heartbeat(first.id, 'w1', 60_000, { outcome: 'converted' }), 'heartbeat of the holder');
    assert.equal(await q2.heartbeat(first.id, 'w2', 60_000), false, 'not the holder');
    assert.ok(await q1.complete(first.id, 'w1', { outcome: 'converted' }));
    assert.equal((await q1.get(first.id))?.progress.outcome, 'converted');
    // w2 "dies" holding its job: no heartbeat; its lock runs out and the stalled check hands it back.
    const taken = await until('the lapsed job to be claimable again', () => q1.claim('w3', 60_000));
    assert.equal(taken.id, second.id);
    assert.equal(taken.attempts, 2);
    assert.equal(await q2.complete(second.id, 'w2'), false, 'the old holder lost it');
    assert.ok(await q1.complete(second.id, 'w3'));
    assert.equal((await q1.get(second.id))?.state, 'done');
  });

  it('a retryable failure backs off exponentially (BullMQ backoff), then fails for good with its reason in the failed list', async () => {
    const queue = open({ maxAttempts: 3, backoffMs: 200 });
    const job = await queue.enqueue(page(3));
    assert.equal((await queue.claim('w', 60_000))?.id, job.id);
    let after = await queue.fail(job.id, 'w', 'EIO reading', { retryable: true });
    assert.equal(after?.state, 'queued');
    assert.equal(after?.error, 'EIO reading');
    assert.equal(await queue.claim('w', 60_000), undefined, 'not before its backoff');
    const t0 = Date.now();
    await until('the first retry', () => queue.claim('w', 60_000));
    const firstDelay = Date.now() - t0;
    after = await queue.fail(job.id, 'w', 'EIO again', { retryable: true });
    const t1 = Date.now();
    await until('the second retry', () => queue.claim('w', 60_000));
    assert.ok(Date.now() - t1 >= 400 - 20, `the delay doubles (first ${firstDelay} ms, second ${Date.now() - t1} ms)`);
    after = await queue.fail(job.id, 'w', 'EIO for good', { retryable: true });
    assert.equal(after?.state, 'failed');
    assert.equal(after?.attempts, 3);
    const failed = await queue.list({ state: 'failed' });
    assert.deepEqual(failed.map((j) => [j.id, j.error]), [[job.id, 'EIO for good']]);
  });

  it('a permanent failure fails at once; retry and a new enqueue of the key queue it again', async () => {
    const queue = open({ maxAttempts: 3 });
    const job = await queue.enqueue(page(4));
    assert.equal((await queue.claim('w', 60_000))?.id, job.id);
    const failed = await queue.fail(job.id, 'w', 'not an image', { retryable: false });
    assert.equal(failed?.state, 'failed');
    assert.equal(failed?.error, 'not an image');
    const retried = await queue.retry(job.id);
    assert.equal(retried.state, 'queued');
    assert.equal(retried.attempts, 0);
    await assert.rejects(queue.retry(job.id), JobStateError);
    await queue.claim('w', 60_000);
    await queue.fail(job.id, 'w', 'still not an image', { retryable: false });
    assert.equal((await queue.enqueue(page(4))).state, 'queued');
    const again = await queue.claim('w', 60_000);
    assert.ok(await queue.release(again!.id, 'w'), 'a stopping worker hands its job back');
    assert.equal((await queue.get(job.id))?.state, 'queued');
    assert.ok(await queue.complete((await queue.claim('w', 60_000))!.id, 'w'));
  });

  it('an object job waits for its pages (a BullMQ flow), comes back with its new data once all finished, failed ones included; cancel takes its pages along', async () => {
    const queue = open();
    const events: JobEvent[] = [];
    const unsubscribe = open().subscribe((e) => events.push(e));
    const o = await queue.enqueue(object('o'));
    assert.equal((await queue.claim('w', 60_000))?.id, o.id);
    await queue.enqueue(page(10, o.id));
    await queue.enqueue(page(11, o.id));
    assert.ok(await queue.waitForChildren(o.id, 'w', { kind: 'object', folder: 'o', phase: 'finalise' }, { pages: 2 }));
    assert.equal((await queue.get(o.id))?.state, 'waiting');
    const p1 = await queue.claim('w', 60_000);
    assert.equal(p1?.kind, 'page');
    assert.ok(await queue.heartbeat(p1!.id, 'w', 60_000, { outcome: 'converted' }));
    await queue.complete(p1!.id, 'w', { outcome: 'converted' });
    const p2 = await queue.claim('w', 60_000);
    assert.equal(p2?.kind, 'page', 'not the object while a page is unfinished');
    await queue.fail(p2!.id, 'w', 'broken', { retryable: false });
    const back = await until('the object to come back', () => queue.claim('w', 60_000));
    assert.equal(back.id, o.id);
    assert.deepEqual(back.data, { kind: 'object', folder: 'o', phase: 'finalise' });
    assert.equal(back.progress.pages, 2);
    assert.deepEqual((await queue.children(o.id)).map((c) => c.state), ['done', 'failed']);
    await queue.complete(o.id, 'w');
    await assert.rejects(queue.cancel(o.id), JobStateError, 'a done job cannot be cancelled');
    // Progress and ends are seen by another connection (BullMQ's event stream): what a server hears of remote workers.
    await until('the events of the other connection', async () => (events.some((e) => e.type === 'done' && e.job.id === o.id) ? true : undefined));
    assert.ok(events.some((e) => e.type === 'progress' && e.job.id === p1!.id && e.job.progress.outcome === 'converted'));
    assert.ok(events.some((e) => e.type === 'failed' && e.job.id === p2!.id && e.job.error === 'broken'));
    unsubscribe();

    const other = await queue.enqueue(object('p'));
    await queue.claim('w', 60_000);
    await queue.enqueue(page(20, other.id));
    await queue.waitForChildren(other.id, 'w', { kind: 'object', folder: 'p', phase: 'finalise' });
    const cancelled = await queue.cancel(other.id);
    assert.equal(cancelled.state, 'cancelled');
    assert.deepEqual((await queue.children(other.id)).map((c) => c.state), ['cancelled']);
    assert.equal(await queue.claim('w', 60_000), undefined, 'nothing left to run');
    assert.equal((await queue.list({ state: 'cancelled' })).length, 2);
    const counts = await queue.counts();
    assert.equal(counts.cancelled, 2);
    assert.equal(counts.failed, 2);
    // A running job cancelled: its holder hears it at the next heartbeat and cannot complete it.
    const running = await queue.enqueue(page(30));
    await queue.claim('w', 60_000);
    await queue.cancel(running.id);
    assert.equal(await queue.heartbeat(running.id, 'w', 60_000), false);
    assert.equal(await queue.complete(running.id, 'w'), false);
    assert.equal((await queue.get(running.id))?.state, 'cancelled');
    assert.equal((await queue.retry(running.id)).state, 'queued', 'a cancelled job can be retried');
  });

  it("a dead worker's jobs are taken back at once (recover), the attempt counted; others' are left alone", async () => {
    const queue = open({ backoffMs: 100 });
    // What the tests before left queued is run first.
    for (let left = await queue.claim('w', 60_000); left; left = await queue.claim('w', 60_000)) await queue.complete(left.id, 'w');
    const job = await queue.enqueue(page(40));
    assert.equal((await queue.claim('host:1:dead:0', 60_000))?.id, job.id);
    assert.equal(await queue.recover((w) => w === 'someone-else'), 0);
    assert.equal((await queue.get(job.id))?.state, 'running');
    assert.equal(await queue.recover((w) => w === 'host:1:dead:0'), 1);
    const back = await queue.get(job.id);
    assert.equal(back?.state, 'queued');
    assert.equal(back?.attempts, 1);
    assert.match(back?.error ?? '', /its worker \(host:1:dead:0\) stopped/);
    assert.equal(await queue.complete(job.id, 'host:1:dead:0'), false, 'the dead worker cannot report');
    const again = await until('the job after its backoff', () => queue.claim('w', 60_000));
    assert.equal(again.id, job.id);
    assert.equal(again.attempts, 2);
    assert.ok(await queue.complete(job.id, 'w'));
  });

  it('ids that are not ours are no jobs', async () => {
    assert.equal(await queues[0]!.get('999999'), undefined);
    assert.equal(await queues[0]!.get('../x'), undefined);
    assert.deepEqual(await queues[0]!.children('nope'), []);
  });
});
