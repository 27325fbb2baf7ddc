/** One pass over a list of URLs, each asked once, `connections` at a time: what a fresh server does with requests it has never seen. */
export interface PassResult {
  readonly requestsPerSecond: number;
  /** Milliseconds per request, in the order the requests finished. */
  readonly latencies: number[];
}

export async function onePass(origin: string, paths: readonly string[], connections: number, headers: Readonly<Record<string, string>> = {}): Promise<PassResult> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(connections, paths.length) }, async () => {
      while (next < paths.length) {
        const url = origin + paths[next++]!;
        const t0 = performance.now();
        const response = await fetch(url, { headers });
        const body = await response.arrayBuffer();
        if (response.status !== 200 || body.byteLength === 0) throw new Error(`${url} → ${response.status}: ${Buffer.from(body).toString().slice(0, 200)}`);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  return { requestsPerSecond: paths.length / ((performance.now() - started) / 1000), latencies };
}
