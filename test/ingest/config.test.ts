import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadServeConfig } from '../../src/config/load.js';

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
