import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { CLI, serveCli, type CliServer } from '../helpers/cli.js';
import { buildBatch } from '../helpers/corpus.js';
import type { Json } from '../helpers/presentation.js';
import { tempDir } from '../helpers/server.js';
import { api, finished, until } from './helpers.js';

const TOKEN = 'durability-token-8c41a7';
const PAGES = 10;

/** Reads the catalog as another process would: the pages of an object (identifier → converted at), and the jobs by state. */
function readCatalog(file: string, objectId: string): { pages: Map<string, string>; jobStates: Map<string, number> } {
  const db = new Database(file, { readonly: true });
  try {
    const pages = db.prepare('SELECT identifier, converted_at FROM pages WHERE object_id = ?').all(objectId) as { identifier: string; converted_at: string }[];
    const states = db.prepare('SELECT state, COUNT(*) AS n FROM ingest_jobs GROUP BY state').all() as { state: string; n: number }[];
    return { pages: new Map(pages.map((p) => [p.identifier, p.converted_at])), jobStates: new Map(states.map((s) => [s.state, s.n])) };
  } finally {
    db.close();
  }
}

/** Every file under a folder, relative to it. */
async function filesUnder(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name)));
}

describe('ingest durability: a real vitrine serve killed with SIGKILL mid-object, then restarted', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let masters: string;
  let data: string;
  let server: CliServer | undefined;
  const start = (): Promise<CliServer> => serveCli(['--data', data, '--masters', masters, '--port', '0'], { VITRINE_API_TOKEN: TOKEN });

  before(async () => {
    assert.ok(existsSync(CLI), `${CLI} is missing: build it first (npx tsc -p tsconfig.build.json)`);
    ({ dir, cleanup } = await tempDir('vitrine-ingest-kill-'));
    masters = path.join(dir, 'masters');
    data = path.join(dir, 'data');
    // Two objects (box1, box2) of pages large enough that converting one takes a while.
    await buildBatch(masters, 2 * PAGES, 2400);
  });
  after(async () => {
    await server?.stop();
    await cleanup();
  });

  it('loses nothing: every page ends converted exactly once, nothing is left under a temporary name', async () => {
    server = await start();
    const posted = await api(server.url, 'POST', '/api/ingest', { token: TOKEN, body: { path: 'box1' } });
    assert.equal(posted.status, 202);
    const id = posted.body.id as string;
    const catalogFile = path.join(data, 'catalog.sqlite');
    // Kill once some pages are recorded and others are not.
    await until('two pages converted', async () => ((await api(server!.url, 'GET', `/api/jobs/${id}`, { token: TOKEN })).body.pages?.done >= 2 ? true : undefined));
    await server.kill('SIGKILL');
    const atKill = readCatalog(catalogFile, 'box1');
    assert.ok(atKill.pages.size >= 2 && atKill.pages.size < PAGES, `killed with ${atKill.pages.size} of ${PAGES} pages recorded: not mid-object (make the pages larger)`);
    assert.ok((atKill.jobStates.get('running') ?? 0) >= 1, 'a job was in hand when the process died');

    server = await start();
    const done = await finished(server.url, TOKEN, id);
    assert.equal(done.state, 'done');
    assert.equal(done.pages.done, PAGES);
    const afterRestart = readCatalog(catalogFile, 'box1');
    assert.equal(afterRestart.pages.size, PAGES);
    for (const [identifier, convertedAt] of atKill.pages) {
      assert.equal(afterRestart.pages.get(identifier), convertedAt, `${identifier} was converted again after the restart`);
    }
    const pageJobs = (await api(server.url, 'GET', '/api/jobs?kind=page', { token: TOKEN })).body.jobs as Json[];
    assert.equal(pageJobs.length, PAGES, 'one page job per page');
    assert.ok(pageJobs.every((j) => j.state === 'done'));
    const recordedBefore = pageJobs.filter((j) => atKill.pages.has(j.identifier));
    // A page recorded in the instant between its catalog row and its job's end (the one job in hand)
    // runs again after the restart and is skipped, not converted: its convertedAt is unchanged above.
    const ranAgain = recordedBefore.filter((j) => !(j.attempts === 1 && j.outcome === 'converted'));
    assert.ok(ranAgain.length <= 1, `pages recorded before the kill ran once (or, the one in hand, were skipped): ${JSON.stringify(ranAgain)}`);
    assert.ok(ranAgain.every((j) => j.outcome === 'skipped'), `a page recorded before the kill was converted again: ${JSON.stringify(ranAgain)}`);
    // Served, with every page in order.
    const manifest = (await (await fetch(`${server.url}/iiif/manifest/box1`)).json()) as Json;
    assert.equal((manifest.items as Json[]).length, PAGES);
    assert.deepEqual(await filesUnder(path.join(data, '.tmp-ingest')), [], 'no temporary file left');
    const images = await filesUnder(path.join(data, 'images'));
    assert.equal(images.length, PAGES);
    assert.ok(images.every((f) => /^box1\/page-\d{3}\.tif$/.test(f)), images.join(', '));
  });

  it('SIGTERM finishes (or hands back) the job in hand: nothing is left running, and a restart completes the object', async () => {
    const posted = await api(server!.url, 'POST', '/api/ingest', { token: TOKEN, body: { path: 'box2' } });
    const id = posted.body.id as string;
    await until('a page of box2 converted', async () => ((await api(server!.url, 'GET', `/api/jobs/${id}`, { token: TOKEN })).body.pages?.done >= 1 ? true : undefined));
    await server!.stop();
    const stopped = readCatalog(path.join(data, 'catalog.sqlite'), 'box2');
    assert.equal(stopped.jobStates.get('running') ?? 0, 0, 'no job left held by the stopped server');
    server = await start();
    const done = await finished(server.url, TOKEN, id);
    assert.equal(done.state, 'done');
    assert.equal(done.pages.done, PAGES);
    assert.equal(readCatalog(path.join(data, 'catalog.sqlite'), 'box2').pages.size, PAGES);
  });
});
