import { ConfigError } from '../config/load.js';
import { BullJobQueue } from './bullmq-queue.js';
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

/** Opens the chosen queue; a Redis that cannot be reached is a ConfigError naming the URL (without its password). */
export async function openQueue(choice: QueueChoice, catalogFile: string): Promise<JobQueue> {
  if (choice.queue === undefined) return new SqliteJobQueue(catalogFile);
  try {
    parseRedisUrl(choice.queue);
  } catch (error) {
    if (error instanceof QueueUrlError) throw new ConfigError(error.message);
    throw error;
  }
  const queue = new BullJobQueue({ url: choice.queue, prefix: choice.queuePrefix, stalledIntervalMs: choice.stalledIntervalMs });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ConfigError(`queue: cannot reach Redis at ${redactedRedisUrl(choice.queue!)} (waited ${REDIS_READY_MS / 1000} s)`)), REDIS_READY_MS);
  });
  try {
    await Promise.race([queue.ready(), timeout]);
  } catch (error) {
    await queue.close().catch(() => undefined);
    throw error;
  } finally {
    clearTimeout(timer);
  }
  return queue;
}

/** How a queue is described in logs. */
export const describeQueue = (choice: QueueChoice): string =>
  choice.queue === undefined ? 'the queue embedded in the catalog (SQLite)' : `BullMQ on ${redactedRedisUrl(choice.queue)} (prefix ${choice.queuePrefix ?? 'vitrine'})`;
