import { treeCpuSeconds } from './cpu.js';
import type { Peer } from './peers.js';
import { median } from './stats.js';

/** One kind of request, timed one at a time on each server. */
export interface RequestClass {
  readonly name: string;
  /** Request paths per server name. */
  readonly paths: Readonly<Record<string, readonly string[]>>;
}

export interface ClassTiming {
  readonly name: string;
  readonly count: number;
  /** Per server: median latency (ms) and the server's CPU time per request (ms, its whole process tree). */
  readonly byServer: Record<string, { medianMs: number; cpuMs: number }>;
}

/**
 * Asks each class's requests of each server one at a time (nothing else in flight), after one
 * unmeasured request of the class to warm it: per-request latency, and CPU per request of the
 * server's processes, which the machine's other load disturbs far less than latency. Any answer
 * other than 200 stops the benchmark.
 */
export async function timeOneByOne(peers: readonly Peer[], classes: readonly RequestClass[]): Promise<ClassTiming[]> {
  const results: ClassTiming[] = [];
  for (const c of classes) {
    const byServer: ClassTiming['byServer'] = {};
    for (const peer of peers) {
      const paths = c.paths[peer.name]!;
      await get(peer.origin + paths[0]!);
      const latencies: number[] = [];
      const cpuBefore = treeCpuSeconds(peer.pid!);
      for (const p of paths) {
        const t0 = performance.now();
        await get(peer.origin + p);
        latencies.push(performance.now() - t0);
      }
      byServer[peer.name] = { medianMs: median(latencies), cpuMs: ((treeCpuSeconds(peer.pid!) - cpuBefore) * 1000) / paths.length };
    }
    results.push({ name: c.name, count: c.paths[peers[0]!.name]!.length, byServer });
  }
  return results;
}

async function get(url: string): Promise<void> {
  const response = await fetch(url);
  const body = await response.arrayBuffer();
  if (response.status !== 200 || body.byteLength === 0) throw new Error(`${url} → ${response.status}: ${Buffer.from(body).toString().slice(0, 200)}`);
}
