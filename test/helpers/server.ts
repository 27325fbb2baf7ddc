import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before } from 'node:test';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { loadServeConfig } from '../../src/config/load.js';
import type { ServeConfigInput } from '../../src/config/schema.js';
import { buildApp } from '../../src/server/app.js';

/** Copies of ../shared/fixtures and ../shared/schemas, so a clone anywhere runs its tests. */
export const FIXTURES = path.resolve(import.meta.dirname, '../fixtures');
export const REFERENCE_PNG = path.join(FIXTURES, '67352ccc-d1b0-11e1-89ae-279075081939.png');
export const REFERENCE_ID = '67352ccc-d1b0-11e1-89ae-279075081939';

export interface RunningServer {
  readonly url: string;
  readonly app: FastifyInstance;
  close(): Promise<void>;
}

/** Starts a real server on a free port over `images` (or settings.data), with settings on top of the defaults. */
export async function startServer(images: string | undefined, settings: Partial<ServeConfigInput> = {}): Promise<RunningServer> {
  const config = loadServeConfig({ ...(images ? { images } : {}), port: 0, logLevel: 'silent', ...settings }, { env: {} });
  const app = await buildApp(config, pino({ level: 'silent' }));
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  return { url: address, app, close: () => app.close() };
}

/**
 * A fresh temporary folder for the tests of the enclosing describe: made before them, removed after
 * them. Its path is `dir` of the returned object, once the tests run.
 */
export function tempDirForSuite(prefix: string): { readonly dir: string } {
  const folder = { dir: '' };
  let cleanup: (() => Promise<void>) | undefined;
  before(async () => ({ dir: folder.dir, cleanup } = await tempDir(prefix)));
  after(() => cleanup?.());
  return folder;
}

/** A fresh temporary folder, removed by the returned cleanup. */
export async function tempDir(prefix = 'vitrine-test-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
