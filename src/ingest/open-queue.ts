import { ConfigError } from '../config/load.js';
import type { JobQueue } from './queue.js';
import { parseRedisUrl, QueueUrlError, redactedRedisUrl } from './redis-url.js';
import { SqliteJobQueue } from './sqlite-queue.js';

/** Which queue the ingest uses: BullMQ on Redis (`--queue redis://…`), else the one embedded in the catalog. */
export interface QueueChoice {
  readonly queue?: string | undefined;
  readonly queuePrefix?: string | undefined;
  /** Redis only: how often this process checks for jobs whose worker stopped renewing its lock (ms). */
  readonly stalledIntervalMs?: number | undefined;
}

/** How long a process waits for Redis at start before it says it cannot reach it. */
const REDIS_READY_MS = 10_000;

/** Refuses a queue URL Vitrine cannot use (a ConfigError naming the bad part). */
export function checkQueueUrl(url: string): void {
  try {
    parseRedisUrl(url);
  } catch (error) {
    if (error instanceof QueueUrlError) throw new ConfigError(error.message);
    throw error;
  }
}

/**
 * Opens the chosen queue (a bad URL is a ConfigError); a Redis that cannot be reached fails naming the URL (without
 * its password) and the reason. Once running, `onError` hears of lost connections (ioredis
 * reconnects meanwhile), at most one every 10 s.
 */
export async function openQueue(choice: QueueChoice, catalogFile: string, onError?: (error: Error) => void): Promise<JobQueue> {
  if (choice.queue === undefined) return new SqliteJobQueue(catalogFile);
  checkQueueUrl(choice.queue);
  // Loaded for Redis only: BullMQ is ~0.1 s of CPU that every start over the embedded queue paid.
  const { BullJobQueue } = await import('./bullmq-queue.js');
  let ready = false;
  let told = 0;
  const queue = new BullJobQueue({
    url: choice.queue,
    prefix: choice.queuePrefix,
    stalledIntervalMs: choice.stalledIntervalMs,
    onError: (error) => {
      if (!ready || !onError || Date.now() - told < 10_000) return;
      told = Date.now();
      onError(error);
    },
  });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const why = queue.lastError ? `: ${queue.lastError.message}` : '';
      reject(new Error(`queue: cannot reach Redis at ${redactedRedisUrl(choice.queue!)} within ${REDIS_READY_MS / 1000} s${why}`));
    }, REDIS_READY_MS);
  });
  try {
    await Promise.race([queue.ready(), timeout]);
  } catch (error) {
    await queue.close().catch(() => undefined);
    throw error;
  } finally {
    clearTimeout(timer);
  }
  ready = true;
  return queue;
}

/** How a queue is described in logs. */
export const describeQueue = (choice: QueueChoice): string =>
  choice.queue === undefined ? 'the queue embedded in the catalog (SQLite)' : `BullMQ on ${redactedRedisUrl(choice.queue)} (prefix ${choice.queuePrefix ?? 'vitrine'})`;
