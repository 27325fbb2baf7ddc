import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import type { CliWorker } from '../helpers/cli.js';
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

/** Every file under a folder, relative to it. */
export async function filesUnder(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name)));
}

/** The pages a worker's log says it converted (debug lines `ingest: page ID converted`). */
export const conversionsIn = (log: string): string[] => [...log.matchAll(/"msg":"ingest: page (\S+) converted"/g)].map((m) => m[1]!);

/**
 * Freezes a `vitrine worker` (SIGSTOP) at the moment it is in the middle of a page — its derivative
 * staged for upload in its temporary folder under `data` — and returns those staged files, the
 * worker left stopped for the caller to kill. Fails once `stillPossible` says no page is left to catch.
 */
export async function freezeMidPage(victim: CliWorker, data: string, stillPossible: () => boolean): Promise<string[]> {
  const pid = victim.child.pid!;
  const inFlight = async (): Promise<string[]> => {
    const root = path.join(data, '.tmp-ingest');
    const mine = (await readdir(root).catch(() => [])).find((name) => name.includes(`_${pid}_`));
    const files = mine ? await filesUnder(path.join(root, mine)) : [];
    return files.some((f) => f.startsWith('upload')) ? files.filter((f) => !f.startsWith('sidecars')) : [];
  };
  for (let tries = 0; ; tries++) {
    assert.ok(tries < 400 && stillPossible(), 'the victim was never caught in a page');
    victim.child.kill('SIGSTOP');
    const caught = await inFlight();
    if (caught.length > 0) return caught;
    victim.child.kill('SIGCONT');
    // Often, so that a worker quick at its pages is still caught in one (the window is its upload).
    await new Promise((resolve) => setTimeout(resolve, 10 + Math.random() * 20));
  }
}
