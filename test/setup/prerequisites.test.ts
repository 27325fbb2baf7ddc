import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { tempDir } from '../helpers/server.js';

/**
 * `npm test`'s pretest (scripts/test-prerequisites.mjs): on a machine that has what the tests need
 * it does nothing; on one that lacks packages, without root or passwordless sudo, it stops at once
 * with one line naming them. (Installing as root is what the fresh-machine run exercises.)
 */
const SCRIPT = path.resolve(import.meta.dirname, '../../scripts/test-prerequisites.mjs');
const run = promisify(execFile);

async function prerequisites(options: { env?: NodeJS.ProcessEnv; uid?: number; gid?: number } = {}): Promise<{ code: number; stderr: string }> {
  try {
    const { stderr } = await run(process.execPath, [SCRIPT], options);
    return { code: 0, stderr };
  } catch (error) {
    return error as { code: number; stderr: string };
  }
}

describe('npm test prerequisites', () => {
  it('here, where npm test has set everything up: nothing to do, nothing said', async () => {
    assert.deepEqual(await prerequisites(), { code: 0, stderr: '' });
  });

  it('packages missing and no way to install them: exit 1 with one line naming them', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      // A dpkg that knows no package, and a sudo that asks for a password.
      for (const tool of ['dpkg', 'sudo']) await writeFile(path.join(dir, tool), '#!/bin/sh\nexit 1\n', { mode: 0o755 });
      await chmod(dir, 0o755);
      const env = { ...process.env, PATH: `${dir}:${process.env.PATH}` };
      // As root it would install: run it as nobody instead.
      const user = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
      const result = await prerequisites({ env, ...user });
      assert.equal(result.code, 1, result.stderr);
      assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
      // Every package the install script checks is reported missing (dpkg knows none), in one command.
      const command = /^vitrine: the tests need system packages: sudo apt-get install ([a-z0-9.+ -]+) \(or run npm test as root\)/.exec(result.stderr);
      assert.ok(command, result.stderr);
      const named = command[1]!.trim().split(' ');
      for (const expected of ['libturbojpeg0-dev', 'libopenjp2-7-dev', 'libopenjp2-tools', 'openjph-tools']) assert.ok(named.includes(expected), `${expected} not named: ${result.stderr}`);
    } finally {
      await cleanup();
    }
  });

  it('no Redis answering where the tests look for one: exit 1 with one line saying how to start one', async () => {
    // A port nothing listens on (bound, then closed, so the OS has just refused it).
    const { createServer } = await import('node:net');
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as { port: number };
    await new Promise((resolve) => probe.close(resolve));
    const result = await prerequisites({ env: { ...process.env, VITRINE_TEST_REDIS: `redis://127.0.0.1:${port}` } });
    assert.equal(result.code, 1, result.stderr);
    assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
    assert.match(result.stderr, new RegExp(`^vitrine: the tests need a Redis server at 127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\): start one`));
  });
});
