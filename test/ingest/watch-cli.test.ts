import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { CLI, vitrine } from '../helpers/cli.js';
import { pagePicture } from '../helpers/corpus.js';
import { tempDir } from '../helpers/server.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until the output matches (a deadline only turns a missing line into a clear failure). */
async function until(output: () => string, pattern: RegExp, within = 60_000): Promise<RegExpExecArray> {
  for (const end = Date.now() + within; ; await sleep(50)) {
    const match = pattern.exec(output());
    if (match) return match;
    if (Date.now() > end) assert.fail(`no line matching ${pattern} in:\n${output()}`);
  }
}

describe('vitrine serve --watch', () => {
  it('serves, logs what it watches, and reports a folder copied in once its files are stable', async () => {
    const { dir, cleanup } = await tempDir();
    const masters = path.join(dir, 'masters');
    const data = path.join(dir, 'data');
    await mkdir(masters);
    await mkdir(path.join(data, 'images'), { recursive: true });
    const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('VITRINE_')));
    const args = ['serve', '--data', data, '--watch', masters, '--watch-stable', '500', '--withdraw-derivatives', 'remove', '--port', '0'];
    const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    try {
      await until(() => output, /Vitrine serving/);
      const line = await until(() => output, /"msg":"(watching [^"]+)"/);
      assert.equal(
        line[1],
        `watching ${masters} (file system events): a new or changed object is queued once its files keep their size and mtime for 500 ms; a removed one is withdrawn, its derivatives removed`,
      );
      await mkdir(path.join(masters, 'ms1'));
      await writeFile(path.join(masters, 'ms1', 'p1.png'), await pagePicture(1, 64, 48).png().toBuffer());
      await until(() => output, /watch: ms1 is stable: queued as job \S+/);
    } finally {
      child.kill('SIGTERM');
      if (child.exitCode === null) await once(child, 'exit');
      await cleanup();
    }
    assert.equal(child.exitCode, 0, `stopped cleanly on SIGTERM:\n${output}`);
  });

  it('refuses a missing folder, a file, or --watch without --data: exit 2, one line', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const missing = path.join(dir, 'nope');
      const gone = await vitrine('serve', '--data', dir, '--watch', missing, '--port', '0');
      assert.equal(gone.code, 2, gone.stderr);
      assert.equal(gone.stderr.trim(), `vitrine: watch: ${missing} not found (give the masters folder to watch)`);
      await writeFile(path.join(dir, 'file.tif'), 'x');
      const file = await vitrine('serve', '--data', dir, '--watch', path.join(dir, 'file.tif'), '--port', '0');
      assert.equal(file.code, 2, file.stderr);
      assert.match(file.stderr.trim(), /^vitrine: watch: \S+file\.tif is not a folder \(give the masters folder to watch\)$/);
      const alone = await vitrine('serve', '--images', dir, '--watch', dir, '--port', '0');
      assert.equal(alone.code, 2, alone.stderr);
      assert.equal(alone.stderr.trim(), 'vitrine: invalid configuration: watch: needs --data DIR too, the data folder the watched masters are converted into');
      const badStable = await vitrine('serve', '--data', dir, '--watch', dir, '--watch-stable', '0');
      assert.equal(badStable.code, 2, badStable.stderr);
      assert.match(badStable.stderr.trim(), /^vitrine: invalid configuration: watchStable: [^\n]+$/);
    } finally {
      await cleanup();
    }
  });

  it('--help teaches the watch options', async () => {
    const { stdout, code } = await vitrine('serve', '--help');
    assert.equal(code, 0);
    for (const option of ['--watch <dir>', '--watch-stable <ms>', '--watch-poll <ms>', '--withdraw-derivatives <what>']) assert.ok(stdout.includes(option), option);
  });
});
