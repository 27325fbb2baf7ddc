import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { appendFile, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { runConversion } from '../../src/pipeline/run.js';
import { MastersWatcher, type WatchEvents } from '../../src/ingest/watch.js';
import { pagePicture } from '../helpers/corpus.js';
import { tempDir } from '../helpers/server.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A small master: page n as a PNG (each n a different picture, hence different bytes). */
const master = (n: number): Promise<Buffer> => pagePicture(n, 64, 48).png().toBuffer();

interface Reported {
  readonly kind: 'ready' | 'removed' | 'collection';
  readonly folder: string;
  /** When it was reported (Date.now()), to compare with when the writing ended: order, not speed. */
  readonly at: number;
}

/** Records what a watcher reports. */
class Recorder implements WatchEvents {
  readonly reports: Reported[] = [];
  readonly errors: Error[] = [];
  objectReady(folder: string): void {
    this.reports.push({ kind: 'ready', folder, at: Date.now() });
  }
  objectRemoved(folder: string): void {
    this.reports.push({ kind: 'removed', folder, at: Date.now() });
  }
  collectionChanged(folder: string): void {
    this.reports.push({ kind: 'collection', folder, at: Date.now() });
  }
  error(error: Error): void {
    this.errors.push(error);
  }
  list(): string[] {
    return this.reports.map((r) => `${r.kind} ${r.folder}`).sort();
  }
  /** Waits until `count` reports arrived (a deadline only turns a missing report into a clear failure). */
  async until(count: number, within = 60_000): Promise<void> {
    for (const end = Date.now() + within; this.reports.length < count; await sleep(50)) {
      if (Date.now() > end) assert.fail(`expected ${count} reports, got ${this.reports.length}: ${JSON.stringify(this.list())}`);
    }
  }
}

/** Writes a file in `chunks` pieces, `gapMs` apart: a copy in progress, half written between pieces. */
async function writeSlowly(file: string, data: Buffer, chunks: number, gapMs: number): Promise<void> {
  const size = Math.ceil(data.length / chunks);
  await writeFile(file, data.subarray(0, size));
  for (let i = 1; i < chunks; i++) {
    await sleep(gapMs);
    await appendFile(file, data.subarray(i * size, (i + 1) * size));
  }
}

/** A watcher over `root` with the recorder, closed by the test's end. */
async function watching(root: string, stableMs: number, extra: { catalogFile?: string } = {}): Promise<{ watcher: MastersWatcher; recorder: Recorder }> {
  const recorder = new Recorder();
  const watcher = await MastersWatcher.start({ root, stableMs, events: recorder, ...extra });
  return { watcher, recorder };
}

describe('the masters watcher', () => {
  it('a folder copied file by file, slowly, each file in pieces: one report, after the last file is stable', async () => {
    const { dir, cleanup } = await tempDir();
    const { watcher, recorder } = await watching(dir, 2000);
    try {
      const folder = path.join(dir, 'box1', 'ms12');
      await mkdir(folder, { recursive: true });
      // One file a second (250 ms apart pieces): never 2 s without a write until the copy ends.
      for (let n = 1; n <= 5; n++) await writeSlowly(path.join(folder, `ms12-${String(n).padStart(3, '0')}.png`), await master(n), 4, 250);
      const copied = Date.now();
      await recorder.until(1);
      // Nothing more comes (a wait, not a timed assertion): three times the stability time.
      await sleep(6000);
      assert.deepEqual(recorder.list(), ['ready box1/ms12']);
      assert.ok(recorder.reports[0]!.at >= copied, 'reported only after the last piece of the last file was written');
      assert.equal(watcher.waiting, 0);
      assert.deepEqual(recorder.errors, []);
    } finally {
      await watcher.close();
      await cleanup();
    }
  });

  it('a file growing keeps its folder waiting; a replaced page, a deleted folder and a last master removed are reported once each', async () => {
    const { dir, cleanup } = await tempDir();
    const folder = path.join(dir, 'letters');
    await mkdir(folder, { recursive: true });
    await writeFile(path.join(folder, 'p1.png'), await master(1));
    await writeFile(path.join(folder, 'p2.png'), await master(2));
    await mkdir(path.join(dir, 'maps'));
    await writeFile(path.join(dir, 'maps', 'map1.png'), await master(3));
    await mkdir(path.join(dir, 'photos'));
    await writeFile(path.join(dir, 'photos', 'ph1.png'), await master(4));
    // No catalog: every folder with masters is reported once at start.
    const { watcher, recorder } = await watching(dir, 1000);
    try {
      await recorder.until(3);
      await sleep(2500);
      assert.deepEqual(recorder.list(), ['ready letters', 'ready maps', 'ready photos']);
      recorder.reports.length = 0;

      // A page replaced by a new scan, written in pieces over three times the stability time.
      await writeSlowly(path.join(folder, 'p2.png'), Buffer.concat([await master(5), Buffer.alloc(4000)]), 10, 300);
      const written = Date.now();
      await recorder.until(1);
      await sleep(2500);
      assert.deepEqual(recorder.list(), ['ready letters']);
      assert.ok(recorder.reports[0]!.at >= written, 'not reported while the page was half written');
      recorder.reports.length = 0;

      await rm(path.join(dir, 'maps'), { recursive: true });
      await rm(path.join(dir, 'photos', 'ph1.png'));
      await recorder.until(2);
      await sleep(2500);
      assert.deepEqual(recorder.list(), ['removed maps', 'removed photos']);
      assert.deepEqual(recorder.errors, []);
    } finally {
      await watcher.close();
      await cleanup();
    }
  });

  it('a folder renamed, and a folder of objects deleted whole: each object reported once', async () => {
    const { dir, cleanup } = await tempDir();
    for (const folder of ['fonds/a', 'fonds/b/c', 'box']) {
      await mkdir(path.join(dir, folder), { recursive: true });
      await writeFile(path.join(dir, folder, 'p1.png'), await master(folder.length));
    }
    const { watcher, recorder } = await watching(dir, 1000);
    try {
      await recorder.until(3);
      await sleep(2500);
      assert.deepEqual(recorder.list(), ['ready box', 'ready fonds/a', 'ready fonds/b/c']);
      recorder.reports.length = 0;
      await rename(path.join(dir, 'box'), path.join(dir, 'box-renamed'));
      await rm(path.join(dir, 'fonds'), { recursive: true });
      await recorder.until(4);
      await sleep(2500);
      assert.deepEqual(recorder.list(), ['ready box-renamed', 'removed box', 'removed fonds/a', 'removed fonds/b/c']);
      assert.deepEqual(recorder.errors, []);
    } finally {
      await watcher.close();
      await cleanup();
    }
  });

  it('the masters folder itself gone (a share unmounted) withdraws nothing, and a missing one is refused at start', async () => {
    const { dir, cleanup } = await tempDir();
    const masters = path.join(dir, 'masters');
    for (const folder of ['a', 'b']) {
      await mkdir(path.join(masters, folder), { recursive: true });
      await writeFile(path.join(masters, folder, 'p1.png'), await master(folder === 'a' ? 1 : 2));
    }
    const { watcher, recorder } = await watching(masters, 1000);
    try {
      await recorder.until(2);
      recorder.reports.length = 0;
      await rm(masters, { recursive: true });
      for (const end = Date.now() + 60_000; recorder.errors.length === 0 && Date.now() < end; ) await sleep(50);
      await sleep(2500);
      assert.deepEqual(recorder.list(), []);
      assert.match(recorder.errors[0]?.message ?? '', /masters folder \S+ is gone: nothing is withdrawn until it is back/);
    } finally {
      await watcher.close();
    }
    await assert.rejects(MastersWatcher.start({ root: masters, events: new Recorder() }), /masters folder \S+masters not found/);
    await cleanup();
  });

  it('polling (network shares): a folder copied in is reported once it is stable', async () => {
    const { dir, cleanup } = await tempDir();
    const recorder = new Recorder();
    const watcher = await MastersWatcher.start({ root: dir, stableMs: 1500, pollMs: 200, events: recorder });
    try {
      await mkdir(path.join(dir, 'ms9'));
      await writeSlowly(path.join(dir, 'ms9', 'p1.png'), await master(9), 6, 400);
      const written = Date.now();
      await recorder.until(1);
      await sleep(3000);
      assert.deepEqual(recorder.list(), ['ready ms9']);
      assert.ok(recorder.reports[0]!.at >= written, 'not reported while the page was half written');
      assert.deepEqual(recorder.errors, []);
    } finally {
      await watcher.close();
      await cleanup();
    }
  });

  it('temporary and hidden files never count; a temporary name renamed to a master does', async () => {
    const { dir, cleanup } = await tempDir();
    const folder = path.join(dir, 'ms1');
    await mkdir(folder);
    await writeFile(path.join(folder, 'ms1-001.png'), await master(1));
    const { watcher, recorder } = await watching(dir, 1000);
    try {
      await recorder.until(1);
      recorder.reports.length = 0;
      const page = await master(2);
      // What cp, rsync, browsers, editors and desktops leave while copying, in an object and in a new folder.
      await writeFile(path.join(folder, '.ms1-002.png.Xq81Za'), page); // rsync
      await writeFile(path.join(folder, 'ms1-002.png.part'), page);
      await writeFile(path.join(folder, 'ms1-002.png.tmp'), page);
      await writeFile(path.join(folder, 'ms1-002.png~'), page);
      await writeFile(path.join(folder, '.DS_Store'), 'x');
      await writeFile(path.join(folder, 'Thumbs.db'), 'x');
      await writeFile(path.join(folder, 'notes.txt'), 'x');
      await mkdir(path.join(dir, 'incoming'));
      await writeFile(path.join(dir, 'incoming', 'p1.png.part'), page);
      await mkdir(path.join(dir, '.staging'));
      await writeFile(path.join(dir, '.staging', 'p1.png'), page);
      await sleep(4000);
      assert.deepEqual(recorder.list(), []);

      // rsync's last step: the finished temporary file takes the master's name.
      await rename(path.join(folder, '.ms1-002.png.Xq81Za'), path.join(folder, 'ms1-002.png'));
      await recorder.until(1);
      await sleep(2500);
      assert.deepEqual(recorder.list(), ['ready ms1']);
      assert.deepEqual(recorder.errors, []);
    } finally {
      await watcher.close();
      await cleanup();
    }
  });

  it('sidecars count: manifest.yml as a change of its object, collection.yml as one of its collection', async () => {
    const { dir, cleanup } = await tempDir();
    await mkdir(path.join(dir, 'fonds', 'ms1'), { recursive: true });
    await writeFile(path.join(dir, 'fonds', 'ms1', 'ms1-001.png'), await master(1));
    const { watcher, recorder } = await watching(dir, 1000);
    try {
      await recorder.until(1);
      recorder.reports.length = 0;
      await writeFile(path.join(dir, 'fonds', 'ms1', 'manifest.yml'), 'label: Letters\n');
      await writeFile(path.join(dir, 'fonds', 'collection.yml'), 'label: The fonds\n');
      await recorder.until(2);
      await sleep(2500);
      assert.deepEqual(recorder.list(), ['collection fonds', 'ready fonds/ms1']);
      assert.deepEqual(recorder.errors, []);
    } finally {
      await watcher.close();
      await cleanup();
    }
  });

  it('at start, catches up with a catalog written by a real conversion: changed, new and gone folders only', async () => {
    const { dir, cleanup } = await tempDir();
    const masters = path.join(dir, 'masters');
    const out = path.join(dir, 'out');
    for (const [object, pages] of [['changed', [1, 2]], ['gone', [3]], ['same', [4, 5]], ['described', [6]]] as const) {
      await mkdir(path.join(masters, 'fonds', object), { recursive: true });
      for (const n of pages) await writeFile(path.join(masters, 'fonds', object, `p${n}.png`), await master(n));
    }
    await writeFile(path.join(masters, 'fonds', 'collection.yml'), 'label: The fonds\n');
    const settings = { format: 'ptiff', quality: 80, tileSize: 256, maxInputPixels: 100_000_000 } as const;
    const report = await runConversion({ masters, out, workers: 1, settings, dryRun: false });
    assert.equal(report.totals.failed, 0);
    const catalogFile = path.join(out, 'catalog.sqlite');

    // Nothing changed since the conversion: nothing to report.
    const first = await watching(masters, 1000, { catalogFile });
    try {
      await sleep(3000);
      assert.deepEqual(first.recorder.list(), []);
    } finally {
      await first.watcher.close();
    }

    // While nobody watched: a page replaced, a folder deleted, one added, a sidecar written.
    await writeFile(path.join(masters, 'fonds', 'changed', 'p2.png'), await master(7));
    await rm(path.join(masters, 'fonds', 'gone'), { recursive: true });
    await mkdir(path.join(masters, 'fonds', 'new'));
    await writeFile(path.join(masters, 'fonds', 'new', 'p1.png'), await master(8));
    await writeFile(path.join(masters, 'fonds', 'described', 'manifest.yml'), 'label: Described\n');
    const { watcher, recorder } = await watching(masters, 1000, { catalogFile });
    try {
      await recorder.until(4);
      await sleep(2500);
      assert.deepEqual(recorder.list(), ['ready fonds/changed', 'ready fonds/described', 'ready fonds/new', 'removed fonds/gone']);
      assert.deepEqual(recorder.errors, []);
    } finally {
      await watcher.close();
      await cleanup();
    }
  });

  it('closes cleanly: a process that starts and closes a watcher exits by itself', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      await mkdir(path.join(dir, 'ms1'));
      await writeFile(path.join(dir, 'ms1', 'p1.png'), await master(1));
      const module = path.resolve(import.meta.dirname, '../../src/ingest/watch.ts');
      // A change pending when it closes: its timer must not keep the process alive either.
      const script = `
        import { writeFileSync } from 'node:fs';
        const { MastersWatcher } = await import(${JSON.stringify(module)});
        const watcher = await MastersWatcher.start({ root: ${JSON.stringify(dir)}, stableMs: 60000, events: { objectReady() {}, objectRemoved() {} } });
        writeFileSync(${JSON.stringify(path.join(dir, 'ms1', 'p2.png'))}, 'x');
        await new Promise((r) => setTimeout(r, 500));
        await watcher.close();
        console.log('closed');`;
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const deadline = setTimeout(() => child.kill('SIGKILL'), 60_000);
      const [code, signal] = (await once(child, 'exit')) as [number | null, string | null];
      clearTimeout(deadline);
      assert.equal(output.trim(), 'closed');
      assert.equal(signal, null, 'the process did not exit by itself within a minute (a handle left open)');
      assert.equal(code, 0);
    } finally {
      await cleanup();
    }
  });
});
