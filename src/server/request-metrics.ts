import { Counter, type Registry } from 'prom-client';

/**
 * Per-request metrics counted in plain numbers and handed to the registry when it is scraped:
 * prom-client's own `inc` and `observe` hash and check their labels on every call, which costs more
 * than sending a stored tile's headers (four of them per tile). The exposition, and what `serve
 * --processes N` sums (cluster-metrics.ts), are prom-client's formats.
 */

/** A counter by label values (given in `labelNames` order). */
export class PlainCounter {
  private readonly counts = new Map<string, { values: readonly string[]; n: number }>();

  constructor(registry: Registry, name: string, help: string, labelNames: readonly string[]) {
    const counts = this.counts;
    new Counter({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        for (const { values, n } of counts.values()) this.inc(Object.fromEntries(labelNames.map((label, i) => [label, values[i]!])), n);
      },
    });
  }

  inc(...values: string[]): void {
    const key = values.length === 1 ? values[0]! : values.join('\0');
    const entry = this.counts.get(key);
    if (entry) entry.n++;
    else this.counts.set(key, { values, n: 1 });
  }
}

/** Requests by kind and status, and their durations by kind. */
export class RequestMetrics {
  private readonly counts: PlainCounter;
  private readonly durations: DurationHistogram;

  constructor(registry: Registry, requests: { name: string; help: string }, durations: { name: string; help: string; buckets: readonly number[] }) {
    this.counts = new PlainCounter(registry, requests.name, requests.help, ['kind', 'status']);
    this.durations = new DurationHistogram(durations.name, durations.help, durations.buckets);
    registry.registerMetric(this.durations as unknown as Parameters<Registry['registerMetric']>[0]);
  }

  /** A request answered. */
  record(kind: string, status: number, seconds: number): void {
    this.counts.inc(kind, String(status));
    this.durations.observe(kind, seconds);
  }
}

interface Series {
  readonly counts: number[];
  sum: number;
  count: number;
}

/** A histogram labelled by `kind`, exposed as prom-client's Histogram exposes one (its `get()`). */
class DurationHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly series = new Map<string, Series>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly bounds: readonly number[],
  ) {}

  observe(kind: string, value: number): void {
    let series = this.series.get(kind);
    if (!series) this.series.set(kind, (series = { counts: this.bounds.map(() => 0), sum: 0, count: 0 }));
    let bucket = 0;
    while (bucket < this.bounds.length && value > this.bounds[bucket]!) bucket++;
    if (bucket < this.bounds.length) series.counts[bucket]!++;
    series.sum += value;
    series.count++;
  }

  get(): { name: string; help: string; type: string; aggregator: string; values: { labels: Record<string, string | number>; value: number; metricName: string; exemplar?: null }[] } {
    const values = [];
    for (const [kind, { counts, sum, count }] of this.series) {
      let cumulative = 0;
      for (const [i, le] of this.bounds.entries()) {
        cumulative += counts[i]!;
        values.push({ value: cumulative, metricName: `${this.name}_bucket`, exemplar: null, labels: { le, kind } });
      }
      values.push({ value: count, metricName: `${this.name}_bucket`, exemplar: null, labels: { le: '+Inf', kind } });
      values.push({ value: sum, metricName: `${this.name}_sum`, labels: { kind } });
      values.push({ value: count, metricName: `${this.name}_count`, labels: { kind } });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}
