import assert from 'node:assert/strict';
import { copyFile } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { loadServeConfig } from '../../src/config/load.js';
import { buildApp } from '../../src/server/app.js';
import { REFERENCE_PNG, tempDir } from '../helpers/server.js';

interface Line {
  readonly msg: string;
  readonly level: number;
  readonly [field: string]: unknown;
}

/** A server whose logger (info level) writes into `lines`. */
async function loggedServer(images: string, accessLog: 'on' | 'off'): Promise<{ url: string; lines: Line[]; close: () => Promise<void> }> {
  const lines: Line[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const text of chunk.toString().split('\n')) if (text) lines.push(JSON.parse(text) as Line);
      done();
    },
  });
  const config = loadServeConfig({ images, port: 0, accessLog }, { env: {} });
  const app = await buildApp(config, pino({ level: 'info' }, sink));
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return { url, lines, close: () => app.close() };
}

/**
 * Lines are written when a response has been sent, which may be just after the client has it: waits
 * for `count` request lines (at most 10 s), then a little more so an extra line would show.
 */
async function requestLines(lines: readonly Line[], count: number): Promise<Line[]> {
  const found = (): Line[] => lines.filter((line) => line.msg === 'request');
  for (let waited = 0; found().length < count && waited < 10_000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
  await new Promise((resolve) => setImmediate(resolve));
  return found();
}

describe('access log', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  before(async () => {
    ({ dir, cleanup } = await tempDir());
    await copyFile(REFERENCE_PNG, path.join(dir, 'ref.png'));
  });
  after(() => cleanup());

  it('writes one line per request with method, path, status, bytes, duration, kind, client and agent, and no credentials', async () => {
    const server = await loggedServer(dir, 'on');
    try {
      const secret = 'Bearer sekrit-token-123';
      const asked = [
        { path: '/iiif/3/ref.png/info.json?access_token=sekrit-query', status: 200, kind: 'info' },
        { path: '/iiif/3/ref.png/0,0,100,100/100,/0/default.jpg', status: 200, kind: 'tile' },
        { path: '/iiif/3/missing.png/info.json', status: 404, kind: 'info' },
        { path: '/health', status: 200, kind: 'health' },
        { path: '/nowhere', status: 404, kind: 'other' },
      ];
      const sizes: number[] = [];
      for (const { path: p } of asked) {
        const response = await fetch(`${server.url}${p}`, { headers: { Authorization: secret, Cookie: 'session=sekrit-cookie', 'User-Agent': 'vitrine-test/1.0' } });
        sizes.push((await response.arrayBuffer()).byteLength);
      }
      const requests = await requestLines(server.lines, asked.length);
      assert.equal(requests.length, asked.length, 'one line per request');
      asked.forEach((want, i) => {
        const line = requests[i]!;
        assert.equal(line.level, 30, 'info level');
        assert.equal(line.method, 'GET');
        assert.equal(line.path, want.path.split('?')[0], 'the path, without its query string');
        assert.equal(line.status, want.status);
        assert.equal(line.kind, want.kind);
        assert.equal(line.remote, '127.0.0.1');
        assert.equal(line.agent, 'vitrine-test/1.0');
        assert.equal(typeof line.ms, 'number');
        assert.ok((line.ms as number) >= 0);
        assert.ok((line.bytes as number) > sizes[i]!, `bytes sent (${String(line.bytes)}) count the body (${sizes[i]}) and the headers`);
      });
      const all = server.lines.map((line) => JSON.stringify(line)).join('\n');
      assert.doesNotMatch(all, /sekrit/, 'no Authorization, cookie or query-string token in the log');
    } finally {
      await server.close();
    }
  });

  it('writes none with --access-log off', async () => {
    const server = await loggedServer(dir, 'off');
    try {
      await (await fetch(`${server.url}/iiif/3/ref.png/info.json`)).arrayBuffer();
      await server.close();
      assert.equal(server.lines.filter((line) => line.msg === 'request').length, 0);
    } finally {
      await server.close();
    }
  });
});
