import assert from 'node:assert/strict';
import type { Json } from '../helpers/presentation.js';

/** The Redis of this machine, for the tests of the Redis queue (each under a key prefix of its own). */
export const REDIS_URL = process.env.VITRINE_TEST_REDIS ?? 'redis://127.0.0.1:6379';

/** Polls `probe` until it gives a value (a safety deadline, not a speed assertion: generous on a loaded machine). */
export async function until<T>(what: string, probe: () => Promise<T | undefined>, deadlineMs = 180_000): Promise<T> {
  const end = Date.now() + deadlineMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > end) assert.fail(`gave up waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
}

/** A request to the ingest API with a bearer token; the status and the JSON answer. */
export async function api(
  base: string,
  method: string,
  path: string,
  options: { token?: string | undefined; body?: unknown; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: Json; headers: Headers }> {
  const headers: Record<string, string> = { ...(options.headers ?? {}) };
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${base}${path}`, { method, headers, body: options.body === undefined ? undefined : JSON.stringify(options.body) });
  const text = await response.text();
  let body: Json;
  try {
    body = JSON.parse(text) as Json;
  } catch {
    body = { text };
  }
  return { status: response.status, body, headers: response.headers };
}

/** Waits until a job is finished (done, failed or cancelled) and returns it. */
export function finished(base: string, token: string, id: string): Promise<Json> {
  return until(`job ${id} to finish`, async () => {
    const { status, body } = await api(base, 'GET', `/api/jobs/${id}`, { token });
    assert.equal(status, 200);
    return ['done', 'failed', 'cancelled'].includes(body.state as string) ? body : undefined;
  });
}
