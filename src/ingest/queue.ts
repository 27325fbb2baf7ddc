import type { Job, JobEvent, JobState, JobKind, JobProgress, JobData, NewJob } from './jobs.js';

/**
 * The ingest queue: one interface, engines behind it (SqliteJobQueue, embedded and durable in the
 * catalog's file; a BullMQ engine on Redis for many machines). Every method is async so an engine
 * over the network fits. Workers hold a job under a lease they renew (heartbeat); a job whose
 * lease runs out (its worker died) is claimable again, so a killed process loses nothing, and
 * jobs are keyed so that running one twice is harmless.
 */
export interface JobQueue {
  /** Adds a job, or returns the one with the same key (see NewJob.renew). */
  enqueue(job: NewJob): Promise<Job>;
  /**
   * The next job to run, held by `worker` for `leaseMs`: a queued job whose time has come, a
   * running job whose lease ran out, or a waiting object job whose page jobs are all finished.
   */
  claim(worker: string, leaseMs: number): Promise<Job | undefined>;
  /** Extends the lease (and records progress). false: the job is no longer this worker's (cancelled, or its lease lapsed and another took it). */
  heartbeat(id: string, worker: string, leaseMs: number, progress?: JobProgress): Promise<boolean>;
  /** The job succeeded. false: it was no longer this worker's. */
  complete(id: string, worker: string, progress?: JobProgress): Promise<boolean>;
  /** An object job handed out its pages: it waits for them, then is claimable again with `data`. */
  waitForChildren(id: string, worker: string, data: JobData, progress?: JobProgress): Promise<boolean>;
  /**
   * The attempt failed: retried after an exponential backoff while attempts remain and the
   * failure may pass (`retryable`), else failed for good with `reason`.
   */
  fail(id: string, worker: string, reason: string, options: { retryable: boolean }): Promise<Job | undefined>;
  /** Hands a job back unfinished (a worker stopping): queued again at once, the attempt not counted. */
  release(id: string, worker: string): Promise<boolean>;
  /** Hands back the running jobs of workers known to be dead (`isDead(worker)`), without waiting for their leases. */
  recover(isDead: (worker: string) => boolean): Promise<number>;
  /** Cancels a queued, waiting or running job (an object job with its unfinished pages). JobStateError when finished. */
  cancel(id: string): Promise<Job>;
  /** Queues a failed or cancelled job again, its attempts reset (an object job plans again). JobStateError otherwise. */
  retry(id: string): Promise<Job>;
  get(id: string): Promise<Job | undefined>;
  /** Jobs, newest first. */
  list(filter: { state?: JobState | undefined; kind?: JobKind | undefined; limit?: number | undefined }): Promise<Job[]>;
  /** How many jobs are in each state now (for metrics: the queue's depth). */
  counts(): Promise<Record<JobState, number>>;
  /** The page jobs of an object job. */
  children(id: string): Promise<Job[]>;
  /** Calls `listener` on every change made through this queue; returns the unsubscribe. */
  subscribe(listener: (event: JobEvent) => void): () => void;
  close(): Promise<void>;
}
