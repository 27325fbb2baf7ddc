import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { vitrine, workerCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/server.js';
import { REDIS_URL } from './helpers.js';

describe('vitrine worker --config: the servers\' config file', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  const file = (name: string, lines: string[]): Promise<string> => {
    const at = path.join(dir, name);
    return writeFile(at, lines.join('\n') + '\n').then(() => at);
  };
  before(async () => {
    ({ dir, cleanup } = await tempDir('vitrine-worker-config-'));
    await mkdir(path.join(dir, 'masters'));
  });
  after(() => cleanup());

  it("takes its settings from it and passes over the servers' own; flags and VITRINE_QUEUE win over it", async () => {
    const config = await file('vitrine.yml', ['queue: redis://127.0.0.1:1', 'queuePrefix: from-file', `masters: ${path.join(dir, 'masters')}`, 'port: 8182', 'baseUrl: https://iiif.example.org', 'ingestWorkers: 0']);
    const worker = await workerCli(['--config', config, '--data', path.join(dir, 'data'), '--queue-prefix', 'from-flag'], { VITRINE_QUEUE: REDIS_URL });
    try {
      assert.match(worker.output(), new RegExp(`from BullMQ on ${REDIS_URL.replace(/[.]/g, '\\.')} \\(prefix from-flag\\); masters ${path.join(dir, 'masters')}`));
    } finally {
      assert.equal(await worker.kill('SIGTERM'), 0);
    }
  });

  it('refuses a key neither command knows, or a value of the wrong type, with exit 2 and one line naming it', async () => {
    const typo = await file('typo.yml', [`masters: ${path.join(dir, 'masters')}`, 'queu: redis://127.0.0.1:6379']);
    const wrongType = await file('type.yml', [`masters: ${path.join(dir, 'masters')}`, 'lease: soon']);
    const [a, b, c] = await Promise.all([
      vitrine('worker', '--config', typo, '--data', path.join(dir, 'data')),
      vitrine('worker', '--config', wrongType, '--data', path.join(dir, 'data')),
      vitrine('worker', '--config', path.join(dir, 'missing.yml'), '--data', path.join(dir, 'data')),
    ]);
    assert.equal(a.code, 2);
    assert.equal(a.stderr, `vitrine: config file ${typo}: 'queu' is no setting of vitrine worker or vitrine serve\n`);
    assert.equal(b.code, 2);
    assert.equal(b.stderr, `vitrine: config file ${wrongType}: lease: expected a number, got "soon"\n`);
    assert.equal(c.code, 2);
    assert.match(c.stderr, /^vitrine: config file .*missing\.yml: not found\n$/);
  });
});
