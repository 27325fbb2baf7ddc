import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadServeConfig } from '../../src/config/load.js';
import { parseRedisUrl, QueueUrlError, redactedRedisUrl } from '../../src/ingest/redis-url.js';

describe('ingest settings of vitrine serve', () => {
  it('VITRINE_API_TOKEN stays text, even all digits (not a rounded number)', () => {
    const token = '123456789012345678901234567890';
    assert.equal(loadServeConfig({ data: '/tmp/d' }, { env: { VITRINE_API_TOKEN: token } }).apiToken, token);
  });

  it('--masters needs --data (where the ingest converts to); --ingest-workers defaults to 1', () => {
    assert.throws(() => loadServeConfig({ images: '/tmp/i', masters: '/tmp/m' }, { env: {} }), (e: unknown) => e instanceof ConfigError && /masters: .*--data/.test(e.message));
    assert.equal(loadServeConfig({ data: '/tmp/d', masters: '/tmp/m' }, { env: {} }).ingestWorkers, 1);
  });
});

describe('queue settings of vitrine serve', () => {
  it('--queue takes a Redis URL (also from VITRINE_QUEUE, as text) and needs the masters root; the prefix defaults to vitrine', () => {
    const config = loadServeConfig({ data: '/tmp/d', masters: '/tmp/m' }, { env: { VITRINE_QUEUE: 'redis://127.0.0.1:6379/2', VITRINE_QUEUE_PREFIX: '2024' } });
    assert.equal(config.queue, 'redis://127.0.0.1:6379/2');
    assert.equal(config.queuePrefix, '2024', 'a prefix of digits stays text');
    assert.equal(loadServeConfig({ data: '/tmp/d', masters: '/tmp/m' }, { env: {} }).queuePrefix, 'vitrine');
    assert.throws(() => loadServeConfig({ data: '/tmp/d', masters: '/tmp/m', queue: 'http://127.0.0.1' }, { env: {} }), (e: unknown) => e instanceof ConfigError && /queue: expected a Redis URL/.test(e.message));
    assert.throws(() => loadServeConfig({ data: '/tmp/d', queue: 'redis://127.0.0.1' }, { env: {} }), (e: unknown) => e instanceof ConfigError && /queue: .*masters root/.test(e.message));
    assert.equal(loadServeConfig({ data: '/tmp/d', masters: '/tmp/m', ingestWorkers: 0, queue: 'redis://h' }, { env: {} }).ingestWorkers, 0);
  });
});

describe('Redis queue URLs', () => {
  it('are parsed with their parts, and shown without their password', () => {
    assert.deepEqual(parseRedisUrl('rediss://ingest:p%40ss@redis.internal:6380/2'), { host: 'redis.internal', port: 6380, db: 2, username: 'ingest', password: 'p@ss', tls: true });
    assert.equal(parseRedisUrl('redis://127.0.0.1').port, 6379);
    assert.equal(redactedRedisUrl('redis://ingest:s3cret@h:6379/0'), 'redis://ingest:***@h:6379/0');
    assert.equal(redactedRedisUrl('redis://:s3cret@h'), 'redis://:***@h');
    assert.throws(() => parseRedisUrl('redis://h/x'), /'x' is not a Redis database number/);
    assert.throws(() => parseRedisUrl('not a url :s3cret@'), (e: unknown) => e instanceof QueueUrlError && !(e as Error).message.includes('s3cret'));
  });
});
