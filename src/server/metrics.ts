import cluster from 'node:cluster';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ImagingCounters } from '../imaging/counters.js';
import type { JobQueue } from '../ingest/queue.js';
import type { RenderQueue } from './admission.js';
import { clusterMetrics, shareWithPrimary } from './cluster-metrics.js';
import { PlainCounter, RequestMetrics } from './request-metrics.js';
import { routeKindOf } from './route-kind.js';

/**
 * The server's Prometheus metrics, in a registry of its own (not prom-client's global one), so
 * several apps in one process (tests) never share or collide. Other services add theirs to
 * `registry` (see addGauge), e.g. the ingest queue's depth and job durations.
 */
export class Metrics {
  readonly registry = new Registry();

  private readonly requests = new RequestMetrics(
    this.registry,
    { name: 'vitrine_http_requests_total', help: 'HTTP requests answered, by kind of route and status code' },
    {
      name: 'vitrine_http_request_duration_seconds',
      help: 'Time from request received to response sent, by kind of route',
      // Tiles answer in milliseconds, heavy renders in seconds.
      buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    },
  );

  private readonly renders = new PlainCounter(this.registry, 'vitrine_image_renders_total', 'Image requests answered, by strategy: passthrough (stored tile sent as it is) or decoded (jpegTiles, jp2Area, vips)', ['strategy']);

  private readonly sourceLookups = new PlainCounter(this.registry, 'vitrine_source_cache_lookups_total', 'Open-source cache lookups: hit (headers already parsed) or miss (file opened)', ['result']);

  private readonly blockLookups = new PlainCounter(this.registry, 'vitrine_jp2_block_cache_lookups_total', 'JPEG 2000 tile requests through the decoded-block cache: hit or miss (block decoded)', ['result']);

  private readonly manifestLookups = new PlainCounter(this.registry, 'vitrine_manifest_cache_lookups_total', 'Serialised manifest cache lookups: hit or miss (built from the catalog)', ['result']);

  constructor() {
    // RSS, open descriptors, heap, event loop lag, GC: prom-client's standard process metrics.
    collectDefaultMetrics({ register: this.registry });
  }

  /** Counts an answered request. */
  request(kind: string, status: number, seconds: number): void {
    this.requests.record(kind, status, seconds);
  }

  /** What the image pipeline reports, counted here. */
  readonly imaging: ImagingCounters = {
    rendered: (strategy) => this.renders.inc(strategy),
    sourceLookup: (hit) => this.sourceLookups.inc(hit ? 'hit' : 'miss'),
    blockLookup: (hit) => this.blockLookups.inc(hit ? 'hit' : 'miss'),
  };

  /** A manifest or collection document cache lookup. */
  manifestLookup(hit: boolean): void {
    this.manifestLookups.inc(hit ? 'hit' : 'miss');
  }

  /** A gauge read when scraped (`read` must be cheap): the seam for other services' figures. */
  addGauge(name: string, help: string, read: () => number): void {
    new Gauge({
      name,
      help,
      registers: [this.registry],
      collect() {
        this.set(read());
      },
    });
  }

  /** A counter kept elsewhere (a running total), read when scraped. */
  addCounter(name: string, help: string, read: () => number): void {
    new Counter({
      name,
      help,
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  }

  /**
   * The ingest queue: jobs by state when scraped (the queue's depth), and as jobs finish, their
   * count by kind and outcome and their duration from queued to finished (pages/s is the rate of
   * `vitrine_ingest_jobs_finished_total{kind="page",outcome="done"}`).
   */
  watchIngest(queue: Pick<JobQueue, 'counts' | 'subscribe'>): void {
    new Gauge({
      name: 'vitrine_ingest_jobs',
      help: 'Ingest jobs by state now (queued, running, waiting, done, failed, cancelled)',
      labelNames: ['state'] as const,
      registers: [this.registry],
      async collect() {
        for (const [state, n] of Object.entries(await queue.counts())) this.set({ state }, n as number);
      },
    });
    const finished = new Counter({
      name: 'vitrine_ingest_jobs_finished_total',
      help: 'Ingest jobs finished since the server started, by kind (object, page) and outcome (done, failed, cancelled)',
      labelNames: ['kind', 'outcome'] as const,
      registers: [this.registry],
    });
    const duration = new Histogram({
      name: 'vitrine_ingest_job_duration_seconds',
      help: 'Ingest jobs done, from queued to finished, by kind',
      labelNames: ['kind'] as const,
      buckets: [0.1, 0.5, 1, 2, 5, 10, 30, 60, 300, 1800],
      registers: [this.registry],
    });
    queue.subscribe(({ type, job }) => {
      if (type !== 'done' && type !== 'failed' && type !== 'cancelled') return;
      finished.inc({ kind: job.kind, outcome: type });
      if (type === 'done' && job.finishedAt) duration.observe({ kind: job.kind }, (Date.parse(job.finishedAt) - Date.parse(job.createdAt)) / 1000);
    });
  }

  /** Open sources and the heavy-render queue, read when scraped. */
  watchImages(images: { readonly openSources: number; readonly heavy: RenderQueue }): void {
    this.addGauge('vitrine_open_sources', 'Image sources open now (each holds a file descriptor)', () => images.openSources);
    this.addGauge('vitrine_heavy_renders_running', 'Heavy renders running now', () => images.heavy.load.running);
    this.addGauge('vitrine_heavy_renders_waiting', 'Heavy renders waiting in the queue now', () => images.heavy.load.waiting);
    this.addGauge('vitrine_heavy_renders_concurrency', 'Heavy renders allowed at once (--heavy-concurrency)', () => images.heavy.concurrency);
    this.addCounter('vitrine_heavy_renders_rejected_total', 'Heavy renders refused with a 503 because the queue was full', () => images.heavy.rejected);
    this.addCounter('vitrine_heavy_renders_dropped_total', 'Waiting heavy renders dropped because their client went away', () => images.heavy.load.dropped);
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The app's metrics, when --metrics is on: other services register theirs in `metrics.registry`. */
    metrics?: Metrics;
  }
}

export interface MetricsOptions {
  readonly metrics: Metrics;
  /** When set, /metrics asks `Authorization: Bearer <token>`. */
  readonly token?: string | undefined;
}

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();

/**
 * Counts every routed response and serves the exposition at /metrics. Registered on the app itself
 * (not encapsulated), so its hook sees the responses of every route.
 */
export async function metricsPlugin(app: FastifyInstance, options: MetricsOptions): Promise<void> {
  const { metrics } = options;
  if (cluster.isWorker) shareWithPrimary(metrics.registry);
  const expected = options.token === undefined ? undefined : digest(`Bearer ${options.token}`);
  app.decorate('metrics', metrics);
  app.addHook('onResponse', async (request, reply) => {
    metrics.request(routeKindOf(request), reply.statusCode, reply.elapsedTime / 1000);
  });
  app.get('/metrics', async (request, reply) => {
    reply.header('Cache-Control', 'no-store');
    // Compared as digests: same length whatever was sent, and in constant time.
    if (expected && !timingSafeEqual(digest(request.headers.authorization ?? ''), expected)) {
      reply.code(401).header('WWW-Authenticate', 'Bearer realm="metrics"').type('text/plain; charset=utf-8');
      return '401 /metrics needs Authorization: Bearer <the --metrics-token>\n';
    }
    reply.type(metrics.registry.contentType);
    // Under `serve --processes N`, the sum over every server process (src/server/cluster-metrics.ts).
    return cluster.isWorker ? clusterMetrics() : metrics.registry.metrics();
  });
}
// Not encapsulated (what fastify-plugin does): the hook and decoration apply to the whole app.
Object.assign(metricsPlugin, { [Symbol.for('skip-override')]: true });
