import assert from 'node:assert/strict';
import { connect } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { serveCli, type CliServer } from '../helpers/cli.js';
import { REFERENCE_PNG, tempDir } from '../helpers/server.js';

/**
 * `vitrine serve` stopped by a signal, as an init system or `docker stop` does: the built CLI in a
 * process of its own (run `npx tsc -p tsconfig.build.json` first), a slow request in flight.
 */

/** A large region of a large untiled JPEG, as a PNG: seconds of decoding, resizing and encoding. */
const SLOW = '/iiif/3/big.jpg/full/2400,/0/default.png';
/** Seconds the slow request may take, however loaded the machine. */
const PATIENCE = '120';

/** Whether a new TCP connection to `url`'s port is accepted. */
function accepts(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port) });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Polls `condition` every 20 ms until it holds; fails after `what` has not happened in 30 s. */
async function until(condition: () => Promise<boolean> | boolean, what: string): Promise<void> {
  for (let waited = 0; waited < 30_000; waited += 20) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.fail(`${what}: did not happen within 30 s`);
}

/** Starts the slow request and resolves once the server is rendering it. */
async function slowRequestInFlight(server: CliServer): Promise<{ response: Promise<{ status: number; body: Buffer }>; done: () => boolean }> {
  let finished = false;
  const response = fetch(`${server.url}${SLOW}`)
    .then(async (r) => ({ status: r.status, body: Buffer.from(await r.arrayBuffer()) }))
    .finally(() => (finished = true));
  response.catch(() => undefined);
  await until(async () => {
    const health = (await (await fetch(`${server.url}/health`)).json()) as { heavyRenders: { running: number } };
    return health.heavyRenders.running === 1;
  }, 'the slow render starting');
  return { response, done: () => finished };
}

describe('vitrine serve: graceful shutdown', () => {
  let images: string;
  let cleanup: () => Promise<void>;

  before(async () => {
    const tmp = await tempDir('vitrine-shutdown-');
    cleanup = tmp.cleanup;
    images = tmp.dir;
    // 6000×4500: about 1.5 s to decode, resize and encode as PNG on a loaded 2-core machine.
    await sharp(REFERENCE_PNG).removeAlpha().resize(6000, 4500, { fit: 'fill' }).jpeg({ quality: 90 }).toFile(path.join(images, 'big.jpg'));
  });
  after(() => cleanup());

  it('on SIGTERM stops accepting, finishes the request in flight with a 200, and exits 0', async () => {
    const server = await serveCli(['--images', images, '--port', '0', '--heavy-concurrency', '1', '--shutdown-timeout', PATIENCE]);
    try {
      const slow = await slowRequestInFlight(server);
      server.child.kill('SIGTERM');
      await until(async () => !(await accepts(server.url)), 'new connections refused');
      assert.equal(slow.done(), false, 'the slow request was still in flight when new connections were refused (else this test proves nothing)');
      const { status, body } = await slow.response;
      assert.equal(status, 200);
      const meta = await sharp(body).metadata();
      assert.deepEqual([meta.format, meta.width, meta.height], ['png', 2400, 1800], 'the whole image arrived');
      assert.equal(await server.exited, 0, server.output());
      assert.match(server.output(), /SIGTERM: stopped accepting connections/);
    } finally {
      await server.stop();
    }
  });

  it('on a second signal exits at once, without waiting for the request in flight', async () => {
    const server = await serveCli(['--images', images, '--port', '0', '--heavy-concurrency', '1', '--shutdown-timeout', PATIENCE]);
    try {
      const slow = await slowRequestInFlight(server);
      server.child.kill('SIGINT');
      await until(async () => !(await accepts(server.url)), 'new connections refused');
      server.child.kill('SIGINT');
      assert.equal(await server.exited, 130, server.output());
      await assert.rejects(slow.response, 'the request in flight was cut');
    } finally {
      await server.stop();
    }
  });

  it('cuts requests still running after --shutdown-timeout and exits 1', async () => {
    const server = await serveCli(['--images', images, '--port', '0', '--heavy-concurrency', '1', '--shutdown-timeout', '0']);
    try {
      const slow = await slowRequestInFlight(server);
      server.child.kill('SIGTERM');
      assert.equal(await server.exited, 1, server.output());
      await assert.rejects(slow.response, 'the request in flight was cut');
      assert.match(server.output(), /still in flight after 0 s/);
    } finally {
      await server.stop();
    }
  });
});
