import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { Queue, QueueEvents, UnrecoverableError, Worker, type Job as BullJob, type JobType } from 'bullmq';
import { FINISHED_STATES, JOB_STATES, JobStateError, type Job, type JobData, type JobEvent, type JobKind, type JobProgress, type JobState, type NewJob } from './jobs.js';
import type { JobQueue } from './queue.js';
import { parseRedisUrl } from './redis-url.js';

export interface BullJobQueueOptions {
  /** redis://host:port[/db] (rediss:// for TLS). */
  readonly url: string;
  /** BullMQ's key prefix (default 'vitrine'): every key of this queue starts with it (tests use one each). */
  readonly prefix?: string | undefined;
  /** The queue's name under the prefix (default 'ingest'). */
  readonly name?: string | undefined;
  /** Attempts before a job fails for good (default 3). */
  readonly maxAttempts?: number | undefined;
  /** The first retry's delay; each next one doubles it (default 2000 ms). */
  readonly backoffMs?: number | undefined;
  /**
   * How often this process looks for jobs whose worker stopped renewing their lock (a killed
   * worker's), and hands them back (default 30 s, BullMQ's). A job comes back between one and two
   * intervals after its lock ran out.
   */
  readonly stalledIntervalMs?: number | undefined;
  /**
   * Told of connection errors (Redis down, refused, unknown host): ioredis reconnects by itself
   * meanwhile. Default: kept as `lastError` only (nothing printed).
   */
  readonly onError?: ((error: Error) => void) | undefined;
}

/** What a BullMQ job carries: our key and job data. */
interface Payload {
  readonly key: string;
  readonly job: JobData;
}

type Bull = BullJob<Payload, JobProgress, JobKind>;

/** A job's id: a digest of its key, so the same key is the same BullMQ job (its deduplication), whatever process adds it. */
export const bullJobId = (key: string): string => createHash('sha256').update(key).digest('hex').slice(0, 24);
const ID = /^[0-9a-f]{24}$/;

/** BullMQ's states behind each of ours (cancelled ones are kept apart, see cancel). */
const BULL_STATES: Record<Exclude<JobState, 'cancelled'>, JobType[]> = {
  queued: ['wait', 'prioritized', 'delayed'],
  running: ['active'],
  waiting: ['waiting-children'],
  done: ['completed'],
  failed: ['failed'],
};
const stateOf = (bull: string): JobState => {
  for (const [state, types] of Object.entries(BULL_STATES)) if ((types as string[]).includes(bull === 'waiting' ? 'wait' : bull)) return state as JobState;
  return 'queued';
};

const iso = (ms: number | undefined): string | undefined => (ms ? new Date(ms).toISOString() : undefined);

/**
 * The ingest queue on Redis, through BullMQ: any number of processes on any machines share it.
 * Jobs are BullMQ jobs with ids derived from their keys (one job per key across all processes);
 * an object job is a BullMQ parent whose page jobs are its children (a page failing for good does
 * not hold the object: `ignoreDependencyOnFailure`); a claim is a lock (BullMQ's token: the worker
 * id), renewed by heartbeats, and a job whose lock lapses is handed back by the stalled-job check
 * that every claiming process runs. Retries back off exponentially (BullMQ's backoff). Cancelled
 * jobs leave BullMQ and are kept in a hash of their own (BullMQ has no cancelled state).
 */
export class BullJobQueue implements JobQueue {
  private readonly queue: Queue<Payload, JobProgress, JobKind>;
  private worker: Worker<Payload, JobProgress, JobKind> | undefined;
  private queueEvents: QueueEvents | undefined;
  private readonly events = new EventEmitter();
  private readonly maxAttempts: number;
  private readonly backoffMs: number;
  private readonly keys: { cancelled: string; children: (parent: string) => string };

  constructor(private readonly options: BullJobQueueOptions) {
    const prefix = options.prefix ?? 'vitrine';
    const name = options.name ?? 'ingest';
    this.queue = new Queue(name, { connection: this.connection(), prefix });
    this.queue.on('error', this.noteError);
    this.maxAttempts = options.maxAttempts ?? 3;
    this.backoffMs = options.backoffMs ?? 2000;
    this.keys = { cancelled: `${prefix}:${name}:vitrine-cancelled`, children: (parent) => `${prefix}:${name}:vitrine-children:${parent}` };
  }

  private connection(): { host: string; port: number; db: number; username?: string; password?: string; tls?: object; maxRetriesPerRequest: null } {
    const at = parseRedisUrl(this.options.url);
    return {
      host: at.host,
      port: at.port,
      db: at.db,
      ...(at.username !== undefined ? { username: at.username } : {}),
      ...(at.password !== undefined ? { password: at.password } : {}),
      ...(at.tls ? { tls: {} } : {}),
      maxRetriesPerRequest: null,
    };
  }

  /** The last connection error, if any (why Redis cannot be reached). */
  lastError: Error | undefined;

  private readonly noteError = (error: Error): void => {
    this.lastError = error;
    this.options.onError?.(error);
  };

  /** Waits for Redis (a wrong URL fails here, with the reason, rather than at the first job). */
  async ready(): Promise<void> {
    await this.queue.waitUntilReady();
  }

  private client(): ReturnType<Queue['getBackend']>['client'] {
    return this.queue.getBackend().client;
  }

  /** The BullMQ worker claims go through (created at the first claim: a server that only enqueues has none). */
  private claimer(): Worker<Payload, JobProgress, JobKind> {
    if (!this.worker) {
      this.worker = new Worker<Payload, JobProgress, JobKind>(this.queue.name, null, {
        connection: this.connection(),
        prefix: this.queue.opts.prefix,
        autorun: false,
        // Locks are ours: taken for the lease given to claim and renewed by our heartbeats.
        skipLockRenewal: true,
        stalledInterval: this.options.stalledIntervalMs ?? 30_000,
        // A job whose worker died at each attempt (a master that kills it) ends failed, not in a loop.
        maxStalledCount: Math.max(1, this.maxAttempts - 1),
      });
      this.worker.on('error', this.noteError);
      void this.worker.startStalledCheckTimer();
    }
    return this.worker;
  }

  private async cancelledRecord(id: string): Promise<Job | undefined> {
    const raw = await (await this.client()).hget(this.keys.cancelled, id);
    return raw === null ? undefined : (JSON.parse(raw) as Job);
  }

  private view(bull: Bull, state: JobState): Job {
    const progress = typeof bull.progress === 'object' && bull.progress !== null ? bull.progress : {};
    const runAt = bull.timestamp + (bull.delay ?? 0);
    return {
      id: bull.id!,
      kind: bull.name,
      key: bull.data.key,
      state,
      data: bull.data.job,
      progress,
      // As the embedded queue counts them: runs that ended (done or failed), runs whose worker died
      // (stalled), and the one under way; an object job taken again after its pages is not another.
      attempts: bull.attemptsMade + (bull.stalledCounter ?? 0) + (state === 'running' ? 1 : 0),
      maxAttempts: bull.opts.attempts ?? this.maxAttempts,
      error: bull.failedReason || undefined,
      runAt: new Date(runAt).toISOString(),
      createdAt: new Date(bull.timestamp).toISOString(),
      updatedAt: iso(Math.max(bull.timestamp, bull.processedOn ?? 0, bull.finishedOn ?? 0))!,
      finishedAt: state === 'done' || state === 'failed' ? iso(bull.finishedOn) : undefined,
    };
  }

  private async bull(id: string): Promise<Bull | undefined> {
    if (!ID.test(id)) return undefined;
    return (await this.queue.getJob(id)) as Bull | undefined;
  }

  private async viewOf(bull: Bull): Promise<Job> {
    return this.view(bull, stateOf(await bull.getState()));
  }

  /**
   * Tells this process's listeners of a change it made, when they do not hear BullMQ's event
   * stream (see subscribe); the job is read only when someone listens (a worker process has none).
   */
  private async emit(type: JobEvent['type'], job: Job | string | undefined): Promise<void> {
    if (this.queueEvents !== undefined || this.events.listenerCount('event') === 0 || job === undefined) return;
    const view = typeof job === 'string' ? await this.get(job) : job;
    if (view) this.events.emit('event', { type, job: view } satisfies JobEvent);
  }

  async enqueue(spec: NewJob): Promise<Job> {
    const id = bullJobId(spec.key);
    const client = await this.client();
    const existing = await this.bull(id);
    const cancelled = await this.cancelledRecord(id);
    // The object's page list names this job, whether it is new or kept as it is.
    if (spec.parent !== undefined) await client.hset(this.keys.children(spec.parent), { [id]: spec.data.kind });
    if (existing && !cancelled) {
      const state = stateOf(await existing.getState());
      const renew = state === 'failed' || (state === 'done' && spec.renew === 'finished');
      if (!renew) return this.view(existing, state);
      // A finished job starts again: BullMQ keeps one job per id, so the old one goes (its children
      // stay: a page done is kept), and an object starts a new page list.
      await existing.remove({ removeChildren: false });
    }
    if (cancelled) {
      await existing?.remove({ removeChildren: false }).catch(() => undefined);
      await client.hdel(this.keys.cancelled, id);
    }
    if (spec.data.kind === 'object' && (existing || cancelled)) await client.del(this.keys.children(id));
    const parent = spec.parent === undefined ? undefined : { id: spec.parent, queue: this.queue.qualifiedName };
    const bull = (await this.queue.add(spec.data.kind, { key: spec.key, job: spec.data }, {
      jobId: id,
      attempts: spec.maxAttempts ?? this.maxAttempts,
      backoff: { type: 'exponential', delay: this.backoffMs },
      // Pages first (they finish what was started), then objects.
      priority: spec.data.kind === 'page' ? 1 : 2,
      ...(parent ? { parent, ignoreDependencyOnFailure: true } : {}),
    })) as Bull;
    const job = await this.viewOf(bull);
    await this.emit('enqueued', job);
    return job;
  }

  async claim(worker: string, leaseMs: number): Promise<Job | undefined> {
    for (;;) {
      const bull = (await this.claimer().getNextJob(worker, { block: false })) as Bull | undefined;
      if (!bull) return undefined;
      await bull.extendLock(worker, leaseMs);
      // Cancelled while it was queued (between our record and its removal): dropped, not run.
      if (await this.cancelledRecord(bull.id!)) {
        await this.drop(bull, worker);
        continue;
      }
      const job = this.view(bull, 'running');
      await this.emit('claimed', job);
      return job;
    }
  }

  /** A held job that was cancelled meanwhile leaves BullMQ (its record stays in the cancelled hash). */
  private async drop(bull: Bull, worker: string): Promise<void> {
    await bull.moveToFailed(new UnrecoverableError('cancelled'), worker, false).catch(() => undefined);
    await bull.remove({ removeChildren: false }).catch(() => undefined);
  }

  /** The job if `worker` may still report on it; a cancelled one is dropped (false to the holder). */
  private async held(id: string, worker: string): Promise<Bull | undefined> {
    const bull = await this.bull(id);
    if (!bull) return undefined;
    if (await this.cancelledRecord(id)) {
      await this.drop(bull, worker);
      return undefined;
    }
    return bull;
  }

  async heartbeat(id: string, worker: string, leaseMs: number, progress?: JobProgress): Promise<boolean> {
    const bull = await this.held(id, worker);
    if (!bull) return false;
    const extended = await bull.extendLock(worker, leaseMs).catch(() => 0);
    if (!extended) return false;
    if (progress) {
      await bull.updateProgress(progress);
      await this.emit('progress', this.view(bull, 'running'));
    }
    return true;
  }

  async complete(id: string, worker: string, progress?: JobProgress): Promise<boolean> {
    const bull = await this.held(id, worker);
    if (!bull) return false;
    try {
      if (progress) await bull.updateProgress(progress);
      await bull.moveToCompleted(progress ?? {}, worker, false);
    } catch {
      return false; // the lock is another worker's now (it lapsed)
    }
    await this.emit('done', id);
    return true;
  }

  async waitForChildren(id: string, worker: string, data: JobData, progress?: JobProgress): Promise<boolean> {
    const bull = await this.held(id, worker);
    if (!bull) return false;
    try {
      await bull.updateData({ key: bull.data.key, job: data });
      if (progress) await bull.updateProgress(progress);
      // false: its pages all finished meanwhile; it is claimable again at once.
      if (!(await bull.moveToWaitingChildren(worker))) await bull.moveToWait(worker);
    } catch {
      return false;
    }
    await this.emit('waiting', id);
    return true;
  }

  async fail(id: string, worker: string, reason: string, options: { retryable: boolean }): Promise<Job | undefined> {
    const bull = await this.held(id, worker);
    if (!bull) return undefined;
    try {
      // An UnrecoverableError is failed for good by BullMQ, whatever attempts remain.
      await bull.moveToFailed(options.retryable ? new Error(reason) : new UnrecoverableError(reason), worker, false);
    } catch {
      return undefined;
    }
    const job = await this.get(id);
    await this.emit(job?.state === 'failed' ? 'failed' : 'retrying', job);
    return job;
  }

  async release(id: string, worker: string): Promise<boolean> {
    const bull = await this.held(id, worker);
    if (!bull) return false;
    try {
      await bull.moveToWait(worker);
    } catch {
      return false;
    }
    await this.emit('released', id);
    return true;
  }

  /**
   * Hands back the jobs whose lock names a dead worker (a worker of this host restarting after
   * kill -9 takes its own back at once instead of after the lease). The lock's value is the
   * claim's token, our worker id, kept by BullMQ at `<job key>:lock`. The attempt counts (moved to
   * failed, so retried with backoff), as on the embedded queue: a master that kills its worker at
   * every attempt ends failed, not in a loop. Other hosts' dead workers' jobs come back through
   * the stalled check once their lock lapses.
   */
  async recover(isDead: (worker: string) => boolean): Promise<number> {
    const client = await this.client();
    let count = 0;
    for (const bull of (await this.queue.getActive(0, -1)) as Bull[]) {
      const token = bull.id ? await client.get(`${this.queue.toKey(bull.id)}:lock`) : null;
      if (token === null || !isDead(token)) continue;
      const reason = `its worker (${token}) stopped while it ran`;
      const moved = await bull.moveToFailed(new Error(reason), token, false).then(
        () => true,
        () => false,
      );
      if (moved) count++;
    }
    return count;
  }

  async cancel(id: string): Promise<Job> {
    const job = await this.get(id);
    if (!job) throw new JobStateError(`no job ${id}`);
    if (FINISHED_STATES.includes(job.state)) throw new JobStateError(`job ${id} is ${job.state}: only a queued, running or waiting job can be cancelled`);
    const now = new Date().toISOString();
    const record: Job = { ...job, state: 'cancelled', updatedAt: now, finishedAt: now };
    const client = await this.client();
    await client.hset(this.keys.cancelled, { [id]: JSON.stringify(record) });
    const bull = await this.bull(id);
    if (job.kind === 'object') {
      for (const child of await this.children(id)) if (!FINISHED_STATES.includes(child.state)) await this.cancel(child.id).catch(() => undefined);
    }
    // A running job stays locked by its worker until it reports (then it is dropped, see held).
    if (bull && job.state !== 'running') await bull.remove({ removeChildren: false }).catch(() => undefined);
    await this.emit('cancelled', record);
    return record;
  }

  async retry(id: string): Promise<Job> {
    const job = await this.get(id);
    if (!job) throw new JobStateError(`no job ${id}`);
    if (job.state !== 'failed' && job.state !== 'cancelled') throw new JobStateError(`job ${id} is ${job.state}: only a failed or cancelled job can be retried`);
    // An object plans again: its pages are looked at afresh (failed ones queued again, done ones kept).
    const data: JobData = job.data.kind === 'object' ? { ...job.data, phase: 'plan' } : job.data;
    const parent = job.kind === 'page' ? await this.parentOf(id) : undefined;
    return this.enqueue({ key: job.key, data, parent, maxAttempts: job.maxAttempts, renew: 'unsuccessful' });
  }

  private async parentOf(id: string): Promise<string | undefined> {
    const bull = await this.bull(id);
    const parentKey = bull?.parentKey;
    return parentKey?.slice(parentKey.lastIndexOf(':') + 1);
  }

  async get(id: string): Promise<Job | undefined> {
    if (!ID.test(id)) return undefined;
    const cancelled = await this.cancelledRecord(id);
    if (cancelled) return cancelled;
    const bull = await this.bull(id);
    return bull && this.viewOf(bull);
  }

  async list(filter: { state?: JobState | undefined; kind?: JobKind | undefined; limit?: number | undefined }): Promise<Job[]> {
    const limit = filter.limit ?? 1000;
    const states = filter.state === undefined ? JOB_STATES : [filter.state];
    const cancelled = Object.values(await (await this.client()).hgetall(this.keys.cancelled)).map((raw) => JSON.parse(raw) as Job);
    const cancelledIds = new Set(cancelled.map((j) => j.id));
    const found: Job[] = [];
    for (const state of states) {
      if (state === 'cancelled') {
        found.push(...cancelled.filter((j) => filter.kind === undefined || j.kind === filter.kind));
        continue;
      }
      // Newest first, a page of BullMQ's list at a time, until `limit` of the kind asked are found.
      const matching: Job[] = [];
      for (let start = 0; matching.length < limit; start += 500) {
        const batch = (await this.queue.getJobs(BULL_STATES[state], start, start + 499, false)) as Bull[];
        for (const bull of batch) {
          if (bull?.id && !cancelledIds.has(bull.id) && (filter.kind === undefined || bull.name === filter.kind)) matching.push(this.view(bull, state));
        }
        if (batch.length < 500 * BULL_STATES[state].length) break;
      }
      found.push(...matching);
    }
    return found.sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id)).slice(0, limit);
  }

  async counts(): Promise<Record<JobState, number>> {
    const bull = await this.queue.getJobCounts('wait', 'prioritized', 'delayed', 'active', 'waiting-children', 'completed', 'failed');
    const counts = Object.fromEntries(JOB_STATES.map((state) => [state, 0])) as Record<JobState, number>;
    for (const [state, types] of Object.entries(BULL_STATES)) counts[state as JobState] = types.reduce((n, t) => n + (bull[t] ?? 0), 0);
    counts.cancelled = Object.keys(await (await this.client()).hgetall(this.keys.cancelled)).length;
    return counts;
  }

  async children(id: string): Promise<Job[]> {
    if (!ID.test(id)) return [];
    const client = await this.client();
    const [ids, cancelled] = await Promise.all([client.hgetall(this.keys.children(id)), client.hgetall(this.keys.cancelled)]);
    // Read at once (one round trip each, concurrently): an object of a thousand pages is polled by the API.
    const read = async (child: string): Promise<Job | undefined> => {
      const record = cancelled[child];
      if (record !== undefined) return JSON.parse(record) as Job;
      const bull = await this.bull(child);
      return bull && this.viewOf(bull);
    };
    const jobs = (await Promise.all(Object.keys(ids).map(read))).filter((j): j is Job => j !== undefined);
    const sequence = (j: Job): number => (j.data.kind === 'page' ? j.data.sequence : 0);
    return jobs.sort((a, b) => sequence(a) - sequence(b) || a.createdAt.localeCompare(b.createdAt));
  }

  /**
   * Calls `listener` on every change, made by any process: BullMQ's event stream (QueueEvents),
   * so a server sees the progress of workers on other machines.
   */
  subscribe(listener: (event: JobEvent) => void): () => void {
    if (!this.queueEvents) {
      const queueEvents = new QueueEvents(this.queue.name, { connection: this.connection(), prefix: this.queue.opts.prefix });
      this.queueEvents = queueEvents;
      queueEvents.on('error', this.noteError);
      const relay = (type: JobEvent['type']) => async ({ jobId }: { jobId: string }) => {
        const job = await this.get(jobId).catch(() => undefined);
        if (job) this.events.emit('event', { type, job } satisfies JobEvent);
      };
      queueEvents.on('added', relay('enqueued'));
      queueEvents.on('active', relay('claimed'));
      queueEvents.on('progress', relay('progress'));
      queueEvents.on('waiting-children', relay('waiting'));
      queueEvents.on('completed', relay('done'));
      queueEvents.on('delayed', relay('retrying'));
      queueEvents.on('stalled', relay('released'));
      queueEvents.on('failed', async ({ jobId, failedReason }: { jobId: string; failedReason: string }) => {
        const job = await this.get(jobId).catch(() => undefined);
        if (!job) return;
        const type = job.state === 'cancelled' || failedReason === 'cancelled' ? 'cancelled' : job.state === 'failed' ? 'failed' : 'retrying';
        this.events.emit('event', { type, job } satisfies JobEvent);
      });
    }
    this.events.on('event', listener);
    return () => this.events.off('event', listener);
  }

  async close(): Promise<void> {
    this.events.removeAllListeners();
    await this.worker?.close(true);
    await this.queueEvents?.close();
    await this.queue.close();
  }

  /** Removes every key of this queue (tests, and `vitrine worker` never: only an operator's choice). */
  async obliterate(): Promise<void> {
    await this.queue.obliterate({ force: true });
    const client = await this.client();
    const keys: string[] = [this.keys.cancelled];
    let cursor = '0';
    do {
      const [next, found] = (await client.scan(cursor, { MATCH: this.keys.children('*'), COUNT: 1000 })) as [string, string[]];
      cursor = next;
      keys.push(...found);
    } while (cursor !== '0');
    await client.del(...keys);
  }
}
