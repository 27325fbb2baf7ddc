import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BullJobQueue } from '../../src/ingest/bullmq-queue.js';
import { serveCli, vitrine, workerCli, type CliServer, type CliWorker } from '../helpers/cli.js';
import { pagePicture } from '../helpers/corpus.js';
import { queryIn, scratchSchema } from '../helpers/postgres.js';
import { assertServesMaster } from '../helpers/served.js';
import { tempDir } from '../helpers/server.js';
import { api, finished, REDIS_URL, until } from '../ingest/helpers.js';

const TOKEN = 'pg-ingest-token-3f1c';

describe('ingest into a PostgreSQL catalog: a server queues on Redis, a vitrine worker records, another server serves', () => {
  const prefix = `vitrine-test-${randomUUID().slice(0, 8)}`;
  let dir: string;
  let cleanup: () => Promise<void>;
  let scratch: Awaited<ReturnType<typeof scratchSchema>>;
  const servers: CliServer[] = [];
  let worker: CliWorker | undefined;

  before(async () => {
    ({ dir, cleanup } = await tempDir('vitrine-pg-ingest-'));
    scratch = await scratchSchema();
  });
  after(async () => {
    try {
      await worker?.kill('SIGTERM');
      await Promise.all(servers.map((s) => s.stop()));
      const queue = new BullJobQueue({ url: REDIS_URL, prefix });
      await queue.obliterate();
      await queue.close();
    } finally {
      await scratch.drop();
      await cleanup();
    }
  });

  it('an object queued through the API is converted by the worker, recorded in PostgreSQL and served by both servers', async () => {
    const masters = path.join(dir, 'masters');
    const data = path.join(dir, 'data');
    const files: string[] = [];
    for (const n of [1, 2]) {
      const file = path.join(masters, 'box', `p${n}.tif`);
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, await pagePicture(n).tiff({ compression: 'lzw' }).toBuffer());
      files.push(file);
    }
    const catalog = ['--catalog', scratch.url];
    const queue = ['--queue', REDIS_URL, '--queue-prefix', prefix];
    const ingest = await serveCli(['--data', data, '--masters', masters, ...queue, ...catalog, '--ingest-workers', '0', '--port', '0'], { VITRINE_API_TOKEN: TOKEN });
    servers.push(ingest);
    worker = await workerCli([...queue, ...catalog, '--data', data, '--masters', masters]);
    const reader = await serveCli(['--data', data, ...catalog, '--port', '0']);
    servers.push(reader);

    const posted = await api(ingest.url, 'POST', '/api/ingest', { token: TOKEN, body: { path: 'box' } });
    assert.equal(posted.status, 202, JSON.stringify(posted.body));
    const job = await finished(ingest.url, TOKEN, posted.body.id as string);
    assert.equal(job.state, 'done', JSON.stringify(job));
    assert.deepEqual(await queryIn(scratch.schema, 'SELECT identifier, sequence FROM pages ORDER BY sequence'), [
      { identifier: 'box/p1', sequence: 1 },
      { identifier: 'box/p2', sequence: 2 },
    ]);
    for (const server of [ingest, reader]) {
      const deadline = Date.now() + 10_000;
      let status = 0;
      while (Date.now() < deadline && (status = (await fetch(`${server.url}/iiif/manifest/box`)).status) !== 200) await new Promise((r) => setTimeout(r, 200));
      assert.equal(status, 200, `${server.url}: the manifest of the ingested object`);
      await assertServesMaster(server.url, 'box/p2', files[1]!);
    }
  });

  it('serve --watch on a PostgreSQL catalog: a folder added while nobody watched is ingested at start, a folder removed is withdrawn', async () => {
    const masters = path.join(dir, 'watched');
    const data = path.join(dir, 'watched-data');
    const own = await scratchSchema();
    try {
      const write = async (file: string, n: number): Promise<string> => {
        await mkdir(path.dirname(path.join(masters, file)), { recursive: true });
        await writeFile(path.join(masters, file), await pagePicture(n).tiff({ compression: 'lzw' }).toBuffer());
        return path.join(masters, file);
      };
      await write('old/p1.tif', 5);
      const converted = await vitrine('convert', masters, '--out', data, '--catalog', own.url);
      assert.equal(converted.code, 0, converted.stderr);
      const added = await write('new/p1.tif', 6);
      const server = await serveCli(
        ['--data', data, '--watch', masters, '--watch-stable', '300', '--queue', REDIS_URL, '--queue-prefix', `${prefix}-w`, '--catalog', own.url, '--port', '0'],
      );
      servers.push(server);
      await until('the folder added meanwhile is ingested', async () => ((await fetch(`${server.url}/iiif/manifest/new`)).status === 200 ? true : undefined), 60_000);
      await assertServesMaster(server.url, 'new/p1', added);
      await rm(path.join(masters, 'old'), { recursive: true });
      await until('the removed folder is withdrawn', async () => ((await fetch(`${server.url}/iiif/manifest/old`)).status === 410 ? true : undefined), 60_000);
      const activities = await queryIn<{ type: string; object_id: string }>(own.schema, "SELECT type, object_id FROM activities WHERE object_type = 'Manifest' ORDER BY id");
      assert.deepEqual(activities, [
        { type: 'Create', object_id: 'old' },
        { type: 'Create', object_id: 'new' },
        { type: 'Delete', object_id: 'old' },
      ]);
    } finally {
      const queue = new BullJobQueue({ url: REDIS_URL, prefix: `${prefix}-w` });
      await queue.obliterate();
      await queue.close();
      await servers.pop()?.stop();
      await own.drop();
    }
  });
});
