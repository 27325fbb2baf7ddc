import assert from 'node:assert/strict';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { serveCli, vitrine, type CliServer } from '../helpers/cli.js';
import { REFERENCE_PNG, tempDir } from '../helpers/server.js';

/**
 * `vitrine serve --processes 2` (node:cluster), the built CLI in a process of its own: which
 * process answered is read from the OS (the worker holding the server end of the connection in
 * /proc), so the server exposes nothing new for the test.
 */

const TILES = ['0,0,256,256/256,/0/default.jpg', '768,512,256,256/256,/0/default.jpg', '1024,768,176,132/176,/0/default.jpg', 'full/150,/0/default.jpg'];
/** A large untiled JPEG as a PNG: seconds of decoding, resizing and encoding on a loaded machine. */
const SLOW = '/iiif/3/big.jpg/full/2400,/0/default.png';

/** Children of `pid` now, from /proc. */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'latin1');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) out.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** The process among `candidates` holding the server end of the TCP connection from local port `clientPort` to `serverPort`. */
function holderOf(clientPort: number, serverPort: number, candidates: number[]): number | undefined {
  const hex = (n: number): string => n.toString(16).toUpperCase().padStart(4, '0');
  const row = readFileSync('/proc/net/tcp', 'latin1')
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .find((f) => f[1]?.endsWith(`:${hex(serverPort)}`) && f[2]?.endsWith(`:${hex(clientPort)}`));
  if (!row) return undefined;
  const socket = `socket:[${row[9]}]`;
  return candidates.find((pid) => {
    try {
      return readdirSync(`/proc/${pid}/fd`).some((fd) => readlinkSync(`/proc/${pid}/fd/${fd}`) === socket);
    } catch {
      return false;
    }
  });
}

/** GET on a connection of its own, kept open until the answer is read: its body, and the worker that answered. */
function getOnNewConnection(url: string, workers: () => number[]): Promise<{ status: number; body: Buffer; pid: number | undefined }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  return new Promise((resolve, reject) => {
    const request = http.get(url, { agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const pid = holderOf(request.socket!.localPort!, Number(new URL(url).port), workers());
        agent.destroy();
        resolve({ status: res.statusCode!, body: Buffer.concat(chunks), pid });
      });
    });
    request.on('error', reject);
    request.setTimeout(30_000, () => request.destroy(new Error(`no answer to ${url} within 30 s`)));
  });
}

async function until(condition: () => Promise<boolean> | boolean, what: string): Promise<void> {
  for (let waited = 0; waited < 30_000; waited += 50) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.fail(`${what}: did not happen within 30 s`);
}

describe('vitrine serve --processes 2', () => {
  let images: string;
  let cleanup: () => Promise<void>;
  let cluster: CliServer;
  let single: CliServer;
  const workers = (): number[] => childrenOf(cluster.child.pid!);
  /** Requests the first test made of the cluster, all answered 200. */
  let asked = 0;

  before(async () => {
    const tmp = await tempDir('vitrine-processes-');
    cleanup = tmp.cleanup;
    images = tmp.dir;
    await sharp(REFERENCE_PNG).removeAlpha().resize(1200, 900, { fit: 'fill' }).tiff({ tile: true, pyramid: true, compression: 'jpeg', tileWidth: 256, tileHeight: 256 }).toFile(path.join(images, 'page.tif'));
    await sharp(REFERENCE_PNG).removeAlpha().resize(6000, 4500, { fit: 'fill' }).jpeg({ quality: 90 }).toFile(path.join(images, 'big.jpg'));
    [cluster, single] = await Promise.all([
      serveCli(['--images', images, '--port', '0', '--processes', '2', '--heavy-concurrency', '1', '--shutdown-timeout', '120']),
      serveCli(['--images', images, '--port', '0']),
    ]);
  });
  after(async () => {
    await Promise.all([cluster?.stop(), single?.stop()]);
    await cleanup();
  });

  it('starts two server processes, logs its start-up lines once, and answers from both with the single server\'s bytes', async () => {
    // The start-up lines come from the first server process once it listens, which may be after the
    // primary's "Vitrine serving": wait for both processes to listen and for those lines.
    await until(() => workers().length === 2 && (cluster.output().match(/Server listening/g)?.length ?? 0) >= 2 && /heavy renders:/.test(cluster.output()), 'two server processes listening');
    const out = cluster.output();
    assert.equal(out.match(/Vitrine serving/g)?.length, 1, out);
    assert.match(out, /Vitrine serving .* in 2 processes/);
    assert.equal(out.match(/heavy renders:/g)?.length, 1, out);
    const answered = new Set<number>();
    for (let i = 0; i < 4 && answered.size < 2; i++) {
      for (const tile of TILES) {
        const [ours, theirs] = await Promise.all([getOnNewConnection(`${cluster.url}/iiif/3/page.tif/${tile}`, workers), getOnNewConnection(`${single.url}/iiif/3/page.tif/${tile}`, () => [single.child.pid!])]);
        asked++;
        assert.equal(ours.status, 200, tile);
        assert.equal(theirs.status, 200, tile);
        assert.ok(ours.body.equals(theirs.body), `${tile}: the same bytes as the single-process server`);
        assert.ok(ours.pid !== undefined && workers().includes(ours.pid), `${tile}: answered by a child of the primary`);
        answered.add(ours.pid);
      }
    }
    assert.equal(answered.size, 2, 'answers came from two processes');
  });

  it('/metrics sums every server process, whichever one the scrape reaches', async () => {
    const scrapedBy = new Set<number>();
    for (let scrape = 0; scrape < 8 && scrapedBy.size < 2; scrape++) {
      const { status, body, pid } = await getOnNewConnection(`${cluster.url}/metrics`, workers);
      assert.equal(status, 200);
      const answered = body
        .toString()
        .split('\n')
        .filter((line) => line.startsWith('vitrine_http_requests_total{') && line.includes('status="200"'))
        .reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
      // The first test's requests, and the scrapes before this one.
      assert.equal(answered, asked + scrape, `scrape ${scrape} (by ${pid})`);
      scrapedBy.add(pid!);
    }
    assert.equal(scrapedBy.size, 2, 'scrapes reached both processes');
  });

  it('restarts a server process killed with SIGKILL, and the port keeps answering meanwhile', async () => {
    await until(() => workers().length === 2, 'two server processes');
    const [victim, survivor] = workers() as [number, number];
    process.kill(victim, 'SIGKILL');
    // Once the primary knows (a connection handed to the victim in the instant it died is lost: a
    // node:cluster limit), every new connection is answered, by the survivor until the restart.
    await until(() => cluster.output().includes(`server process ${victim} killed by SIGKILL`), 'the primary seeing the death');
    for (let i = 0; i < 5; i++) assert.equal((await getOnNewConnection(`${cluster.url}/iiif/3/page.tif/${TILES[0]}`, workers)).status, 200);
    await until(() => workers().length === 2 && !workers().includes(victim), 'a new server process');
    assert.ok(workers().includes(survivor));
    assert.match(cluster.output(), new RegExp(`server process ${victim} killed by SIGKILL after [\\d.]+ s; starting another in \\d+ ms`));
    const fresh = workers().find((pid) => pid !== survivor)!;
    await until(async () => (await getOnNewConnection(`${cluster.url}/iiif/3/page.tif/${TILES[1]}`, workers)).pid === fresh, 'the new server process answering');
  });

  it('on SIGTERM finishes the request in flight with a 200 and exits 0', async () => {
    let finished = false;
    const slow = getOnNewConnection(`${cluster.url}${SLOW}`, workers).finally(() => (finished = true));
    slow.catch(() => undefined);
    // Each poll on a new connection reaches one worker or the other: until one is rendering.
    await until(async () => {
      const health = JSON.parse((await getOnNewConnection(`${cluster.url}/health`, workers)).body.toString()) as { heavyRenders: { running: number } };
      return health.heavyRenders.running === 1;
    }, 'the slow render starting');
    cluster.child.kill('SIGTERM');
    await until(() => cluster.output().includes('SIGTERM: stopping 2 server processes'), 'the primary stopping');
    assert.equal(finished, false, 'the slow request was still in flight when the stop began (else this test proves nothing)');
    const { status, body } = await slow;
    assert.equal(status, 200);
    const meta = await sharp(body).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['png', 2400, 1800], 'the whole image arrived');
    assert.equal(await cluster.exited, 0, cluster.output());
    assert.match(cluster.output(), /all 2 server processes stopped/);
  });

  it('refuses --processes 2 with the ingest service (--watch): exit 2, one line', async () => {
    const result = await vitrine('serve', '--data', images, '--watch', images, '--processes', '2');
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr.trim(), /^.*processes: the ingest service \(--masters, --watch\) runs in one process only/);
    assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
  });
});
