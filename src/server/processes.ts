import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';
import { answerClusterMetrics } from './cluster-metrics.js';
import type { StopMessage } from './shutdown.js';

/** What a worker of `serve --processes N` tells the primary once its server listens. */
export interface ListeningMessage {
  readonly vitrine: 'listening';
  readonly address: string;
}
const isListening = (m: unknown): m is ListeningMessage => typeof m === 'object' && m !== null && (m as ListeningMessage).vitrine === 'listening';

/** A worker that lived this long before dying starts the backoff afresh. */
const HEALTHY_MS = 30_000;
const FIRST_DELAY_MS = 250;
const LONGEST_DELAY_MS = 30_000;

export interface PrimaryOptions {
  readonly processes: number;
  /** Once every worker listens (their common address): where the start-up line is written, once. */
  readonly onListening: (address: string) => void;
}

/**
 * The primary of `serve --processes N` (node:cluster): it serves nothing itself. It forks N workers,
 * which share the port (the primary accepts connections and hands them round); restarts one that
 * dies, after a delay that doubles while workers keep dying young; on SIGTERM/SIGINT asks every
 * worker for the graceful stop (each finishes its requests in flight) and exits once they all have:
 * 0 when each stopped cleanly, else 1. A second signal makes the workers exit at once. A worker
 * that dies before the server was ever up (a port in use, a bad folder) stops everything: exit 1.
 */
export function runPrimary(logger: Logger, options: PrimaryOptions): void {
  const started = new Map<Worker, number>();
  let listening = 0;
  let up = false;
  let stopping: NodeJS.Signals | undefined;
  let failed = false;
  let quickDeaths = 0;
  const restarts = new Set<NodeJS.Timeout>();

  const fork = (): void => {
    const worker = cluster.fork();
    started.set(worker, Date.now());
    worker.on('message', (message: unknown) => {
      if (!isListening(message) || up) return;
      if (++listening === options.processes) {
        up = true;
        options.onListening(message.address);
      }
    });
  };
  const exitWhenAllGone = (): void => {
    if (Object.keys(cluster.workers ?? {}).length > 0) return;
    logger.info(`all ${options.processes} server processes stopped`);
    logger.flush(() => process.exit(failed ? 1 : 0));
  };
  const send = (message: StopMessage): void => {
    for (const worker of Object.values(cluster.workers ?? {})) if (worker?.isConnected()) worker.send(message);
  };

  cluster.on('exit', (worker, code, signal) => {
    const lived = Date.now() - (started.get(worker) ?? Date.now());
    started.delete(worker);
    const how = signal ? `killed by ${signal}` : `exited with code ${code}`;
    if (stopping) {
      if (code !== 0) failed = true;
      if (code !== 0) logger.warn(`server process ${worker.process.pid} ${how} while stopping`);
      exitWhenAllGone();
      return;
    }
    if (!up) {
      logger.error(`server process ${worker.process.pid} ${how} before the server was up: stopping`);
      stopping = 'SIGTERM';
      failed = true;
      send({ vitrine: 'stop', signal: 'SIGTERM', force: false });
      exitWhenAllGone();
      return;
    }
    quickDeaths = lived >= HEALTHY_MS ? 0 : quickDeaths + 1;
    const delay = Math.min(LONGEST_DELAY_MS, FIRST_DELAY_MS * 2 ** Math.max(0, quickDeaths - 1));
    logger.error(`server process ${worker.process.pid} ${how} after ${(lived / 1000).toFixed(1)} s; starting another in ${delay} ms`);
    const timer = setTimeout(() => {
      restarts.delete(timer);
      fork();
      logger.info('server process restarted');
    }, delay);
    restarts.add(timer);
  });

  const stop = (signal: NodeJS.Signals): void => {
    const force = stopping !== undefined;
    stopping = signal;
    for (const timer of restarts) clearTimeout(timer);
    restarts.clear();
    logger.info(force ? `${signal} again: server processes exit without waiting` : `${signal}: stopping ${Object.keys(cluster.workers ?? {}).length} server processes; each finishes its requests in flight`);
    send({ vitrine: 'stop', signal, force });
    exitWhenAllGone();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  answerClusterMetrics();
  for (let i = 0; i < options.processes; i++) fork();
}

/** In a worker: tells the primary its server listens at `address`. */
export function reportListening(address: string): void {
  const message: ListeningMessage = { vitrine: 'listening', address };
  process.send?.(message);
}
