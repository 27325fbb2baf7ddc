import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { CLI, vitrine } from '../helpers/cli.js';
import { get, type Got } from '../helpers/iiif.js';
import { REFERENCE_PNG, startServer, tempDir, type RunningServer } from '../helpers/server.js';

/**
 * Admission control: expensive renders go through a bounded queue; when it is full the next one is
 * answered 503 with Retry-After at once, while stored tiles are still served.
 */
describe('heavy renders are admitted through a bounded queue', () => {
  let server: RunningServer;
  let cleanup: () => Promise<void>;

  before(async () => {
    const tmp = await tempDir();
    cleanup = tmp.cleanup;
    await sharp(REFERENCE_PNG)
      .removeAlpha()
      .resize(3000, 2250, { fit: 'fill' })
      .tiff({ tile: true, pyramid: true, compression: 'jpeg', quality: 85, tileWidth: 256, tileHeight: 256 })
      .toFile(path.join(tmp.dir, 'big.tif'));
    server = await startServer(tmp.dir, { heavyConcurrency: 1, heavyQueue: 1 });
  });
  after(async () => {
    await server.close();
    await cleanup();
  });

  it('answers 503 with Retry-After when the queue is full, while a stored tile still answers 200', async () => {
    const heavyUrl = `${server.url}/iiif/3/big.tif/full/2000,/33/default.png`;
    const done: Array<{ got: Got; at: number }> = [];
    let firstBusy: () => void;
    const busy = new Promise<void>((resolve) => (firstBusy = resolve));
    // One runs, one waits, the other four find the queue full.
    const heavy = Array.from({ length: 6 }, () =>
      get(heavyUrl).then((got) => {
        done.push({ got, at: performance.now() });
        if (got.status === 503) firstBusy();
      }),
    );
    await Promise.race([busy, Promise.all(heavy)]);
    const tile = await get(`${server.url}/iiif/3/big.tif/0,0,256,256/256,256/0/default.jpg`);
    const tileAt = performance.now();
    assert.equal(tile.status, 200, tile.text.slice(0, 200));
    assert.equal(tile.headers.get('content-type'), 'image/jpeg');
    await Promise.all(heavy);

    const ok = done.filter((d) => d.got.status === 200);
    const refused = done.filter((d) => d.got.status === 503);
    assert.deepEqual(
      done.map((d) => d.got.status).filter((s) => s !== 200 && s !== 503),
      [],
      'only 200 and 503',
    );
    assert.ok(ok.length >= 2, `${ok.length} served: the running one and the waiting one are served`);
    assert.ok(refused.length >= 1);
    assert.ok(tileAt < Math.max(...ok.map((d) => d.at)), 'the tile was answered while heavy renders were still running');
    for (const { got } of ok) assert.equal((await sharp(got.body).metadata()).format, 'png');
    for (const { got } of refused) {
      assert.match(got.headers.get('retry-after') ?? '', /^[1-9]\d*$/, 'Retry-After in whole seconds');
      assert.equal(got.headers.get('cache-control'), 'no-store', 'a 503 is not cached');
      assert.equal(got.headers.get('etag'), null);
      assert.match(got.headers.get('content-type') ?? '', /^text\/plain/);
      assert.match(got.text, /^503 the server is busy .*--heavy-queue 1/);
    }
  });

  interface HeavyLoad {
    running: number;
    waiting: number;
    dropped: number;
  }
  const heavyNow = async (): Promise<HeavyLoad> => (JSON.parse((await get(`${server.url}/health`)).text) as { heavyRenders: HeavyLoad }).heavyRenders;

  /** Waits until /health shows this many heavy renders running and waiting. */
  async function heavyLoad(running: number, waiting: number): Promise<void> {
    let load: HeavyLoad | undefined;
    for (let i = 0; i < 600; i++) {
      load = await heavyNow();
      if (load.running === running && load.waiting === waiting) return;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.fail(`heavy renders never reached ${running} running, ${waiting} waiting: ${JSON.stringify(load)}`);
  }

  it('a request whose client goes away while waiting leaves the queue without being rendered', async () => {
    const heavyUrl = (w: number): string => `${server.url}/iiif/3/big.tif/full/${w},/33/default.png`;
    await heavyLoad(0, 0);
    const droppedBefore = (await heavyNow()).dropped;
    const running = get(heavyUrl(2000));
    await heavyLoad(1, 0);
    const controller = new AbortController();
    const waiting = fetch(heavyUrl(1999), { signal: controller.signal }).catch((error: Error) => error.name);
    await heavyLoad(1, 1);
    controller.abort();
    assert.equal(await waiting, 'AbortError');
    // The waiting slot is free again: a new heavy request is queued (not refused) and served.
    await heavyLoad(1, 0);
    const next = get(heavyUrl(1998));
    assert.equal((await running).status, 200);
    assert.equal((await next).status, 200);
    assert.equal((await heavyNow()).dropped, droppedBefore + 1, 'the abandoned render was dropped, not run');
  });
});

describe('vitrine serve --heavy-concurrency and --heavy-queue', () => {
  it('are applied (the start-up log says so) and overridden by flags over the environment', async () => {
    const child = spawn(process.execPath, [CLI, 'serve', '--images', import.meta.dirname, '--port', '0', '--heavy-concurrency', '2', '--heavy-queue', '3'], {
      env: { ...process.env, VITRINE_HEAVY_QUEUE: '7' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    try {
      for (let i = 0; i < 600 && !output.includes('Vitrine serving'); i++) await new Promise((resolve) => setTimeout(resolve, 100));
      assert.match(output, /heavy renders: 2 at once, 3 waiting, then 503/);
    } finally {
      child.kill('SIGTERM');
      if (child.exitCode === null) await once(child, 'exit');
    }
  });

  it('refuse a negative queue with a one-line reason', async () => {
    const { code, stderr } = await vitrine('serve', '--images', import.meta.dirname, '--heavy-queue', '-1');
    assert.notEqual(code, 0);
    assert.match(stderr, /heavyQueue/);
    assert.equal(stderr.trim().split('\n').length, 1, stderr);
  });
});
