import { availableParallelism } from 'node:os';
import type { ServeConfig } from '../config/schema.js';
import { BusyError } from '../image-api/errors.js';

/**
 * Threads in libuv's pool, where sharp, OpenJPEG and libjpeg-turbo jobs run. Node reads
 * UV_THREADPOOL_SIZE when the pool starts, before any of our code (the ES module loader already
 * uses it), so it can only be set in the environment of the process.
 */
export const threadPoolSize = (): number => Number(process.env.UV_THREADPOOL_SIZE) || 4;

/**
 * Heavy renders at once by default: every core but one (which stays free for tiles and HTTP),
 * and two threads of libuv's pool left to cheap renders (each render holds one pool thread at a
 * time; libvips' own threads per render are sharp.concurrency()).
 */
export const defaultHeavyConcurrency = (): number => Math.max(1, Math.min(availableParallelism() - 1, threadPoolSize() - 2));
/** Heavy renders waiting at most, by default: enough for a few clients' bursts, bounded in memory and wait. */
export const defaultHeavyQueue = (concurrency: number): number => Math.max(8, 4 * concurrency);

/** The heavy-render limits: configured, or derived from the cores and the thread pool. */
export function heavyLimits(config: Pick<ServeConfig, 'heavyConcurrency' | 'heavyQueue'>): { concurrency: number; queue: number } {
  const concurrency = config.heavyConcurrency ?? defaultHeavyConcurrency();
  return { concurrency, queue: config.heavyQueue ?? defaultHeavyQueue(concurrency) };
}

/**
 * Admission control for expensive renders: at most `concurrency` run at once, at most `maxWaiting`
 * wait their turn (first come, first served), and the next one is refused at once with a 503 and a
 * Retry-After estimated from recent render times. Cheap requests never enter it, so they never
 * wait behind expensive ones.
 *
 * Hand-written (40 lines) rather than p-limit/p-queue: neither is a dependency, and what is needed
 * beyond a concurrency limit (refusal when full, a Retry-After estimate, leaving the queue when
 * the client goes away) is most of the code.
 */
export class RenderQueue {
  private running = 0;
  private readonly waiting: Array<{ start: () => void }> = [];
  /** Moving average of recent render times, for Retry-After. */
  private averageMs = 1000;

  constructor(
    readonly concurrency: number,
    readonly maxWaiting: number,
    /** Called when the last render finishes and nothing waits (a burst is over). */
    private readonly onIdle?: () => void,
    /** What the queue runs and the settings that bound it, for the 503's message. */
    private readonly names: { readonly work: string; readonly concurrency: string; readonly queue: string; readonly hint: string } = {
      work: 'large renders',
      concurrency: '--heavy-concurrency',
      queue: '--heavy-queue',
      hint: ', or ask a smaller size',
    },
  ) {}

  /** Waiting renders dropped because their client went away, since start. */
  private dropped = 0;
  /** Renders refused (503) because the queue was full, since start. */
  private refused = 0;

  /** Renders refused with a 503 since start (for metrics). */
  get rejected(): number {
    return this.refused;
  }

  /** Renders in flight and waiting, and how many were dropped (for /health). */
  get load(): { running: number; waiting: number; dropped: number } {
    return { running: this.running, waiting: this.waiting.length, dropped: this.dropped };
  }

  /**
   * Runs `job` when a slot is free. Rejects with BusyError (503) when the queue is full, and with
   * `signal`'s reason when the client goes away while the job is still waiting.
   */
  async run<T>(job: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (this.running < this.concurrency) {
      this.running++;
    } else {
      if (this.waiting.length >= this.maxWaiting) {
        this.refused++;
        const seconds = Math.max(1, Math.ceil((this.averageMs * (this.waiting.length + this.running)) / this.concurrency / 1000));
        throw new BusyError(
          seconds,
          `the server is busy with ${this.names.work} (${this.running} running, ${this.waiting.length} waiting: ${this.names.concurrency} ${this.concurrency}, ${this.names.queue} ${this.maxWaiting}); retry in ${seconds} s${this.names.hint}`,
        );
      }
      await new Promise<void>((resolve, reject) => {
        const entry = { start: resolve };
        this.waiting.push(entry);
        signal?.addEventListener(
          'abort',
          () => {
            const index = this.waiting.indexOf(entry);
            if (index === -1) return; // already started
            this.waiting.splice(index, 1);
            this.dropped++;
            reject(signal.reason);
          },
          { once: true },
        );
      });
      // The slot of the job that finished passed to this one: `running` is unchanged.
    }
    const started = performance.now();
    try {
      return await job();
    } finally {
      this.averageMs = 0.8 * this.averageMs + 0.2 * (performance.now() - started);
      const next = this.waiting.shift();
      if (next) next.start();
      else if (--this.running === 0) this.onIdle?.();
    }
  }
}
