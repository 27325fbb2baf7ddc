import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { CLI, serveCli, workerCli, type CliServer, type CliWorker } from '../helpers/cli.js';
import type { Json } from '../helpers/presentation.js';
import { tempDir } from '../helpers/server.js';
import { api, finished } from './helpers.js';

const TOKEN = 'sqlite-worker-token-77a1';

describe('vitrine worker without --queue: beside a serve that runs no job, on the queue embedded in the catalog', () => {
  let cleanup: () => Promise<void>;
  let server: CliServer | undefined;
  let worker: CliWorker | undefined;

  before(async () => {
    assert.ok(existsSync(CLI), `${CLI} is missing: build it first (npm run build)`);
    const made = await tempDir('vitrine-sqlite-worker-');
    cleanup = made.cleanup;
    const masters = path.join(made.dir, 'masters');
    const data = path.join(made.dir, 'data');
    await mkdir(path.join(masters, 'letters'), { recursive: true });
    for (let n = 1; n <= 3; n++) await sharp({ create: { width: 48, height: 32, channels: 3, background: { r: 60 * n, g: 90, b: 30 } } }).png().toFile(path.join(masters, 'letters', `p${n}.png`));
    server = await serveCli(['--data', data, '--masters', masters, '--ingest-workers', '0', '--port', '0'], { VITRINE_API_TOKEN: TOKEN });
    worker = await workerCli(['--data', data, '--masters', masters]);
  });
  after(async () => {
    await worker?.kill('SIGKILL');
    await server?.stop();
    await cleanup?.();
  });

  it('the worker process converts what the server queues; the server serves it', async () => {
    assert.match(server!.output(), /no job run here/);
    assert.match(worker!.output(), /from the queue embedded in the catalog \(SQLite\)/);
    const posted = await api(server!.url, 'POST', '/api/ingest', { token: TOKEN, body: { path: 'letters' } });
    assert.equal(posted.status, 202);
    const done = await finished(server!.url, TOKEN, posted.body.id as string);
    assert.equal(done.state, 'done', JSON.stringify(done));
    assert.equal(done.pages.done, 3);
    assert.match(worker!.output(), /ingest: object letters recorded: 3 page\(s\)/, 'converted by the worker process');
    const manifest = (await (await fetch(`${server!.url}/iiif/manifest/letters`)).json()) as Json;
    assert.equal((manifest.items as Json[]).length, 3);
    assert.equal(await worker!.kill('SIGTERM'), 0);
  });
});
