import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { CLI } from '../helpers/cli.js';
import { pagePicture } from '../helpers/corpus.js';
import { tempDir } from '../helpers/server.js';

/*
 * A power cut cannot be staged in a test; what makes a rename survive one can be observed: the
 * system calls, in order, through strace (-y prints the path of each descriptor). For every file
 * renamed into place the data must be flushed before the rename, and its directory after it.
 */
interface Call {
  readonly name: string;
  readonly args: string;
}

async function traceConvert(args: string[], traceFile: string): Promise<Call[]> {
  await promisify(execFile)('strace', ['-f', '-qq', '-y', '-e', 'trace=fsync,fdatasync,rename,renameat,renameat2', '-o', traceFile, process.execPath, CLI, ...args]);
  const calls: Call[] = [];
  for (const line of (await readFile(traceFile, 'utf8')).split('\n')) {
    const call = /^\d+\s+(fsync|fdatasync|rename|renameat2?)\((.*)$/.exec(line);
    if (call) calls.push({ name: call[1]!, args: call[2]! });
  }
  return calls;
}

function assertDurableRenames(calls: readonly Call[], destinations: readonly string[]): void {
  for (const destination of destinations) {
    const at = calls.findIndex((c) => c.name.startsWith('rename') && c.args.includes(`"${destination}"`));
    assert.ok(at >= 0, `${destination} is renamed into place`);
    const temporary = /"([^"]+)"/.exec(calls[at]!.args)![1]!;
    const flushedBefore = calls.slice(0, at).some((c) => c.name.endsWith('sync') && c.args.includes(`<${temporary}>`));
    assert.ok(flushedBefore, `${path.basename(temporary)} is flushed before it becomes ${destination}`);
    const flushedAfter = calls.slice(at + 1).some((c) => c.name.endsWith('sync') && c.args.includes(`<${path.dirname(destination)}>`));
    assert.ok(flushedAfter, `${path.dirname(destination)} is flushed after the rename`);
  }
}

describe('derivatives and reports are renamed into place durably', () => {
  for (const format of ['ptiff', 'jp2'] as const) {
    it(`--format ${format}: each file is flushed before its rename, its folder after`, async () => {
      const { dir, cleanup } = await tempDir();
      try {
        const masters = path.join(dir, 'masters');
        const out = path.join(dir, 'out');
        await mkdir(path.join(masters, 'box'), { recursive: true });
        for (const n of [1, 2]) await writeFile(path.join(masters, `box/00${n}.tif`), await pagePicture(n, 64, 48).tiff().toBuffer());
        const calls = await traceConvert(['convert', masters, '--out', out, '--format', format, '--workers', '1'], path.join(dir, 'trace'));
        const extension = format === 'jp2' ? '.jp2' : '.tif';
        const reports = calls.filter((c) => c.name.startsWith('rename') && c.args.includes('/reports/')).map((c) => /"[^"]+", "([^"]+)"/.exec(c.args)![1]!);
        assert.equal(reports.length, 1, 'one report');
        assertDurableRenames(calls, [path.join(out, 'images/box', `001${extension}`), path.join(out, 'images/box', `002${extension}`), ...reports]);
      } finally {
        await cleanup();
      }
    });
  }
});
