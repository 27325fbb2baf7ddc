import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
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
    const page = (file: string, r: number) => sharp({ create: { width: 48, height: 32, channels: 3, background: { r, g: 90, b: 30 } } }).png().toFile(path.join(masters, 'letters', file));
    for (let n = 1; n <= 3; n++) await page(`p${n}_m.png`, 60 * n);
    // Page 2 also has an edited master: the worker, which plans the object, must take it (its --rules).
    await page('p2_me.png', 250);
    const rules = path.join(made.dir, 'variants.yml');
    await writeFile(rules, 'variants:\n  suffixes: [_me, _m]\n');
    server = await serveCli(['--data', data, '--masters', masters, '--rules', rules, '--ingest-workers', '0', '--port', '0'], { VITRINE_API_TOKEN: TOKEN });
    worker = await workerCli(['--data', data, '--masters', masters, '--rules', rules]);
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
    const canvases = manifest.items as Json[];
    assert.equal(canvases.length, 3, 'one canvas per page: the variants of page 2 are one page');
    const body = ((((canvases[1]!.items as Json[])[0]!.items as Json[])[0]!.body) as Json);
    const service = (body.service as Json[])[0]!;
    const pixels = await (await fetch(`${(service.id ?? service['@id']) as string}/full/max/0/default.png`)).arrayBuffer();
    const { channels } = await sharp(Buffer.from(pixels)).stats();
    assert.ok(Math.abs(channels[0]!.mean - 250) < 3, `page 2 is the edited master (red ${channels[0]!.mean}, want 250)`);
    assert.equal(await worker!.kill('SIGTERM'), 0);
  });
});
