/**
 * The ingest service's jobs, as data (see queue.ts): an object job ingests one object folder under
 * the masters root; it plans the object's pages, hands each to a page job (convert + record one
 * page, keyed by the master's content), waits for them, then records the object whole.
 */

/** queued: waits for a worker (maybe until a retry's backoff is over); running: a worker holds it
 * under a lease; waiting: an object job whose page jobs are not all finished; then done, failed
 * (with its reason) or cancelled. */
export const JOB_STATES = ['queued', 'running', 'waiting', 'done', 'failed', 'cancelled'] as const;
export type JobState = (typeof JOB_STATES)[number];
export const FINISHED_STATES: readonly JobState[] = ['done', 'failed', 'cancelled'];

/** Ingest one object folder (relative to the masters root, '/' separators; '.' for the root). */
export interface ObjectJobData {
  readonly kind: 'object';
  readonly folder: string;
  /** plan: plan the pages and hand them out; finalise: record the object once they are done. */
  readonly phase: 'plan' | 'finalise';
}

/** Convert and record one page of a master, as the object's plan gave it. */
export interface PageJobData {
  readonly kind: 'page';
  readonly objectId: string;
  readonly identifier: string;
  /** The master, relative to the masters root. */
  readonly source: string;
  readonly sourcePage: number;
  /** 1-based position in the object when planned (the object's record sets the final order). */
  readonly sequence: number;
  /** The master's size and mtime when planned: with the settings, the job's content key. */
  readonly size: number;
  readonly mtimeMs: number;
}

export type JobData = ObjectJobData | PageJobData;
export type JobKind = JobData['kind'];

/** What a job reports as it goes and when done. */
export interface JobProgress {
  /** Object jobs: its pages, and how many are done or failed. */
  readonly pages?: number | undefined;
  readonly pagesDone?: number | undefined;
  readonly pagesFailed?: number | undefined;
  /** Object jobs: the object's id once planned. */
  readonly objectId?: string | undefined;
  /** Page jobs: converted, or skipped (already up to date: never converted twice). */
  readonly outcome?: 'converted' | 'skipped' | undefined;
}

export interface Job {
  readonly id: string;
  readonly kind: JobKind;
  /** Idempotency key: one job per key (an object's folder; a page's master content and settings). */
  readonly key: string;
  readonly state: JobState;
  readonly data: JobData;
  readonly progress: JobProgress;
  /** Attempts started so far (a retry after a failure or a lost worker is another). */
  readonly attempts: number;
  readonly maxAttempts: number;
  /** Why the last attempt failed (kept while a retry waits; the failure's reason once failed). */
  readonly error?: string | undefined;
  /** When a queued job may run next (ISO 8601; later than now while a retry backs off). */
  readonly runAt: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly finishedAt?: string | undefined;
}

/** A job to add. */
export interface NewJob {
  readonly key: string;
  readonly data: JobData;
  /** The object job that waits for this one. */
  readonly parent?: string | undefined;
  readonly maxAttempts?: number | undefined;
  /**
   * When a job with the same key exists and is finished: 'finished' starts it again whatever its
   * end, 'unsuccessful' only when it failed or was cancelled (a done one is returned as is). A
   * queued, running or waiting job is always returned as is.
   */
  readonly renew: 'finished' | 'unsuccessful';
}

/** What happened to a job, for progress events and logs. */
export interface JobEvent {
  readonly type: 'enqueued' | 'claimed' | 'progress' | 'waiting' | 'done' | 'retrying' | 'failed' | 'cancelled' | 'released';
  readonly job: Job;
}

/** A request the job's state does not allow (cancel a finished job, retry a running one). */
export class JobStateError extends Error {
  override name = 'JobStateError';
}
