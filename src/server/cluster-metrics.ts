import cluster from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';

/**
 * /metrics under `serve --processes N`: whichever worker a scrape reaches asks the primary, which
 * gathers every worker's registry (prom-client's AggregatorRegistry, over the cluster's IPC) and
 * sums them, so a scrape sees the whole server, not one process picked by the port's round robin.
 */
interface MetricsAsk {
  readonly vitrine: 'metrics?';
  readonly id: number;
}
interface MetricsAnswer {
  readonly vitrine: 'metrics';
  readonly id: number;
  readonly text?: string;
  readonly error?: string;
}
const isAsk = (m: unknown): m is MetricsAsk => typeof m === 'object' && m !== null && (m as MetricsAsk).vitrine === 'metrics?';
const isAnswer = (m: unknown): m is MetricsAnswer => typeof m === 'object' && m !== null && (m as MetricsAnswer).vitrine === 'metrics';

/** In the primary: answers workers' asks with the sum of every worker's metrics. */
export function answerClusterMetrics(): void {
  const aggregator = new AggregatorRegistry();
  cluster.on('message', (worker, message: unknown) => {
    if (!isAsk(message)) return;
    const reply = (answer: Omit<MetricsAnswer, 'vitrine' | 'id'>): void => {
      if (worker.isConnected()) worker.send({ vitrine: 'metrics', id: message.id, ...answer } satisfies MetricsAnswer);
    };
    aggregator.clusterMetrics().then(
      (text) => reply({ text }),
      (error: unknown) => reply({ error: (error as Error).message }),
    );
  });
}

/** In a worker: `registry` is what this process gives to the primary's sum. */
export function shareWithPrimary(registry: Registry): void {
  // Constructing one makes the worker answer the primary's requests; setRegistries says with what.
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries([registry]);
}

let asked = 0;
/** In a worker: the whole cluster's metrics, from the primary. */
export function clusterMetrics(): Promise<string> {
  const id = ++asked;
  return new Promise((resolve, reject) => {
    const onMessage = (message: unknown): void => {
      if (!isAnswer(message) || message.id !== id) return;
      process.off('message', onMessage);
      if (message.text !== undefined) resolve(message.text);
      else reject(new Error(`metrics of the server processes: ${message.error ?? 'no answer'}`));
    };
    process.on('message', onMessage);
    process.send?.({ vitrine: 'metrics?', id } satisfies MetricsAsk);
  });
}
