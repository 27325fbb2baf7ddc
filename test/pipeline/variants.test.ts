import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import type { ConversionReport } from '../../src/pipeline/run.js';
import { vitrine } from '../helpers/cli.js';
import { decode, fetchBytes } from '../helpers/pixels.js';
import { startServer, tempDir, type RunningServer } from '../helpers/server.js';
import { api, finished, until } from '../ingest/helpers.js';
import { MastersWatcher } from '../../src/ingest/watch.js';

sharp.cache(false);

/** The colour each version of a page is painted in: the served pixels tell which version was converted. */
const COLOURS = { red: { r: 220, g: 30, b: 30 }, green: { r: 30, g: 200, b: 40 }, blue: { r: 30, g: 40, b: 210 }, grey: { r: 128, g: 128, b: 128 } } as const;
type Colour = keyof typeof COLOURS;

async function master(file: string, colour: Colour): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const image = sharp({ create: { width: 64, height: 48, channels: 3, background: COLOURS[colour] } });
  await (file.endsWith('.jpg') ? image.jpeg({ quality: 95 }) : image.tiff({ compression: 'lzw' })).toFile(file);
}

/** The mean colour of a page as served (a small full-image JPEG). */
async function servedColour(base: string, identifier: string): Promise<Colour> {
  const { body } = await fetchBytes(`${base}/iiif/3/${encodeURIComponent(identifier)}/full/32,/0/default.jpg`);
  const { data, channels } = await decode(body, 3);
  const mean = [0, 1, 2].map((c) => {
    let sum = 0;
    for (let i = c; i < data.length; i += channels) sum += data[i]!;
    return sum / (data.length / channels);
  });
  const distance = (k: Colour): number => Math.hypot(mean[0]! - COLOURS[k].r, mean[1]! - COLOURS[k].g, mean[2]! - COLOURS[k].b);
  const nearest = (Object.keys(COLOURS) as Colour[]).sort((a, b) => distance(a) - distance(b))[0]!;
  assert.ok(distance(nearest) < 25, `${identifier}: served colour ${mean.map(Math.round).join(',')} is none of the versions'`);
  return nearest;
}

/** Every derivative file under a data folder's images/ (relative paths). */
async function derivatives(data: string): Promise<string[]> {
  const entries = await readdir(path.join(data, 'images'), { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => path.relative(path.join(data, 'images'), path.join(e.parentPath, e.name)).split(path.sep).join('/')).sort();
}

/** A bag in the layout of role folders: the edited master of page 1 (red), the master of pages 1–3 (green), service copies (blue). */
async function roleFolderBag(bag: string): Promise<void> {
  await master(path.join(bag, 'master_edited', 'bag-001.tif'), 'red');
  for (const n of [1, 2, 3]) await master(path.join(bag, 'master', `bag-00${n}.tif`), 'green');
  for (const n of [1, 2, 3, 4]) await master(path.join(bag, 'service', `bag-00${n}.jpg`), 'blue');
}

describe('variant selection: one version of each page of a legacy bag', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let server: RunningServer | undefined;

  before(async () => {
    ({ dir, cleanup } = await tempDir('vitrine-variants-'));
  });
  after(async () => {
    await server?.close();
    await cleanup();
  });

  it('role folders (master_edited/, master/, service/): one object, the most preferred version of each page, the others reported', async () => {
    const masters = path.join(dir, 'folders');
    const data = path.join(dir, 'folders-data');
    await roleFolderBag(path.join(masters, 'bag'));
    const run = await vitrine('convert', masters, '--out', data, '--workers', '2');
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /converted 4, skipped 0 \(unchanged\), failed 0, ignored 0 files — 4 pages in 1 objects/);
    assert.match(run.stderr, /^variant skipped: bag\/master\/bag-001\.tif \(chose bag\/master_edited\/bag-001\.tif\)$/m);
    assert.match(run.stderr, /^variant skipped: bag\/service\/bag-003\.jpg \(chose bag\/master\/bag-003\.tif\)$/m);
    // One derivative per page, named by the page, whichever folder it came from.
    assert.deepEqual(await derivatives(data), ['bag/bag-001.tif', 'bag/bag-002.tif', 'bag/bag-003.tif', 'bag/bag-004.tif']);

    const reportPath = /^report: (.+)$/m.exec(run.stderr)![1]!;
    const report = JSON.parse(await readFile(reportPath, 'utf8')) as ConversionReport;
    assert.deepEqual(report.totals.objects, 1);
    assert.deepEqual(
      report.variantsSkipped.map((v) => `${v.object}: ${v.skipped} → ${v.chosen}`).sort(),
      [
        'bag: bag/master/bag-001.tif → bag/master_edited/bag-001.tif',
        'bag: bag/service/bag-001.jpg → bag/master_edited/bag-001.tif',
        'bag: bag/service/bag-002.jpg → bag/master/bag-002.tif',
        'bag: bag/service/bag-003.jpg → bag/master/bag-003.tif',
      ],
    );
    // No duplicate-number anomaly: the versions are not duplicates.
    assert.deepEqual(report.anomalies, []);
    const lines = (await readFile(report.pages!, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { event: string });
    assert.equal(lines.filter((l) => l.event === 'variant-skipped').length, 4);

    server = await startServer(undefined, { data });
    const colours = await Promise.all(['bag/bag-001', 'bag/bag-002', 'bag/bag-003', 'bag/bag-004'].map((id) => servedColour(server!.url, id)));
    assert.deepEqual(colours, ['red', 'green', 'green', 'blue']);
    const manifest = (await (await fetch(`${server.url}/iiif/manifest/bag`)).json()) as { items: unknown[] };
    assert.equal(manifest.items.length, 4);
    await server.close();
    server = undefined;
  });

  it('suffixes on the page name, with a preference list in the rules file', async () => {
    const masters = path.join(dir, 'suffixes');
    const data = path.join(dir, 'suffixes-data');
    const object = path.join(masters, 'ms7');
    await master(path.join(object, 'ms7_001_se.jpg'), 'blue');
    await master(path.join(object, 'ms7_001_me.tif'), 'red');
    await master(path.join(object, 'ms7_001_m.tif'), 'green');
    await master(path.join(object, 'ms7_002_m.tif'), 'green');
    await master(path.join(object, 'ms7_002_se.jpg'), 'blue');
    await master(path.join(object, 'ms7_003_se.jpg'), 'blue');
    const rules = path.join(dir, 'variants.yml');
    await writeFile(rules, 'variants:\n  suffixes: [_me, _m, _se]\n');
    const run = await vitrine('convert', masters, '--out', data, '--rules', rules, '--json');
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout) as ConversionReport;
    assert.equal(report.totals.pages, 3);
    assert.deepEqual(report.variantsSkipped.map((v) => v.skipped).sort(), ['ms7/ms7_001_m.tif', 'ms7/ms7_001_se.jpg', 'ms7/ms7_002_se.jpg']);
    assert.deepEqual(report.anomalies, []);
    // Pages are named without the suffix: the name stays if a better version arrives later.
    assert.deepEqual(await derivatives(data), ['ms7/ms7_001.tif', 'ms7/ms7_002.tif', 'ms7/ms7_003.tif']);
    server = await startServer(undefined, { data });
    assert.deepEqual(await Promise.all(['ms7/ms7_001', 'ms7/ms7_002', 'ms7/ms7_003'].map((id) => servedColour(server!.url, id))), ['red', 'green', 'blue']);
    await server.close();
    server = undefined;

    // Without the preference the three versions are three pages (today's behaviour), flagged as duplicates.
    const plain = await vitrine('convert', masters, '--out', path.join(dir, 'suffixes-plain'), '--dry-run', '--json');
    const plainReport = JSON.parse(plain.stdout) as ConversionReport;
    assert.equal(plainReport.totals.pages, 6);
    assert.ok(plainReport.anomalies.some((a) => a.kind === 'duplicate'));
  });

  it('a rules file with a bad variants setting stops the run before anything is written, naming the key', async () => {
    const masters = path.join(dir, 'folders');
    const cases: [string, RegExp][] = [
      ['variants:\n  folders: [master, Master]\n', /variants\.folders: a folder is listed twice/],
      ['variants:\n  prefer: [master]\n', /variants: Unrecognized key.*prefer/],
      ['variants:\n  suffixes: [_m.tif]\n', /variants\.suffixes\.0: an ending of the name before its extension/],
      ['variants: {}\n', /variants: give folders and\/or suffixes/],
    ];
    for (const [text, message] of cases) {
      const rules = path.join(dir, 'bad.yml');
      await writeFile(rules, text);
      const out = path.join(dir, 'never');
      const run = await vitrine('convert', masters, '--out', out, '--rules', rules);
      assert.equal(run.code, 2, `${text}: ${run.stderr}`);
      assert.match(run.stderr, /^vitrine: rules file .*bad\.yml: /);
      assert.match(run.stderr, message);
      assert.equal(run.stderr.trim().split('\n').length, 1);
      await assert.rejects(readdir(out));
    }
  });

  it('the ingest service picks the same versions, whether asked for the bag or for one of its variant folders', async () => {
    const masters = path.join(dir, 'ingest');
    const data = path.join(dir, 'ingest-data');
    await roleFolderBag(path.join(masters, 'bag'));
    const token = 'variants-ingest-token-0c5e';
    server = await startServer(undefined, { data, masters, apiToken: token });
    // A digitization system naming the folder it just wrote: the bag is ingested, not the folder.
    const posted = await api(server.url, 'POST', '/api/ingest', { token, body: { path: 'bag/service' } });
    assert.equal(posted.status, 202, JSON.stringify(posted.body));
    const job = await finished(server.url, token, posted.body.id as string);
    assert.equal(job.state, 'done', JSON.stringify(job));
    assert.deepEqual(await derivatives(data), ['bag/bag-001.tif', 'bag/bag-002.tif', 'bag/bag-003.tif', 'bag/bag-004.tif']);
    const colours = await Promise.all(['bag/bag-001', 'bag/bag-002', 'bag/bag-003', 'bag/bag-004'].map((id) => servedColour(server!.url, id)));
    assert.deepEqual(colours, ['red', 'green', 'green', 'blue']);
    const manifest = (await (await fetch(`${server.url}/iiif/manifest/bag`)).json()) as { items: unknown[] };
    assert.equal(manifest.items.length, 4);
    assert.equal((await fetch(`${server.url}/iiif/manifest/bag%2Fservice`)).status, 404);
  });

  it("the ingest service takes the rules file's variants (serve --rules), and refuses its naming rules", async () => {
    const masters = path.join(dir, 'ingest-suffixes');
    const data = path.join(dir, 'ingest-suffixes-data');
    await master(path.join(masters, 'ms9', 'ms9_001_m.tif'), 'green');
    await master(path.join(masters, 'ms9', 'ms9_001_me.tif'), 'red');
    await master(path.join(masters, 'ms9', 'ms9_002_se.jpg'), 'blue');
    await master(path.join(masters, 'ms9', 'ms9_002_m.tif'), 'green');
    const rules = path.join(dir, 'ingest-variants.yml');
    await writeFile(rules, 'variants:\n  suffixes: [_me, _m, _se]\n');
    const token = 'variants-ingest-token-7a1d';
    const ingest = await startServer(undefined, { data, masters, apiToken: token, rules });
    try {
      const posted = await api(ingest.url, 'POST', '/api/ingest', { token, body: { path: 'ms9' } });
      assert.equal(posted.status, 202, JSON.stringify(posted.body));
      assert.equal((await finished(ingest.url, token, posted.body.id as string)).state, 'done');
      assert.deepEqual(await derivatives(data), ['ms9/ms9_001.tif', 'ms9/ms9_002.tif']);
      assert.deepEqual(await Promise.all(['ms9/ms9_001', 'ms9/ms9_002'].map((id) => servedColour(ingest.url, id))), ['red', 'green']);
    } finally {
      await ingest.close();
    }
    const naming = path.join(dir, 'naming.yml');
    await writeFile(naming, "rules:\n  - pattern: '^(?<object>ms\\d+)_(?<sequence>\\d+)'\n");
    await assert.rejects(startServer(undefined, { data: path.join(dir, 'never-data'), masters, rules: naming }), /rules: .*naming\.yml has naming rules; the ingest service converts one folder = one object/);
  });

  it('the folder watcher reports the bag as one object folder when its variant folders are written, and at start after a conversion finds it unchanged', async () => {
    const root = path.join(dir, 'watched');
    await mkdir(root);
    const reported: string[] = [];
    const events = { objectReady: (folder: string) => void reported.push(`ready ${folder}`), objectRemoved: (folder: string) => void reported.push(`removed ${folder}`) };
    const watcher = await MastersWatcher.start({ root, stableMs: 400, events });
    try {
      await roleFolderBag(path.join(root, 'bag'));
      await until('the bag to be reported', async () => (reported.length > 0 ? true : undefined), 30_000);
      await new Promise((resolve) => setTimeout(resolve, 800));
      assert.deepEqual(reported, ['ready bag']);
      // A lesser version removed changes nothing converted; the bag is still one object, never withdrawn.
      await rm(path.join(root, 'bag', 'service'), { recursive: true });
      await new Promise((resolve) => setTimeout(resolve, 1200));
      assert.ok(!reported.some((r) => r.startsWith('removed')), reported.join(', '));
    } finally {
      await watcher.close();
    }
    // After a conversion, a watcher starting on the same tree finds the bag as the catalog has it.
    const data = path.join(dir, 'watched-data');
    assert.equal((await vitrine('convert', root, '--out', data)).code, 0);
    const again: string[] = [];
    const second = await MastersWatcher.start({ root, stableMs: 300, catalogFile: path.join(data, 'catalog.sqlite'), events: { objectReady: (f) => void again.push(`ready ${f}`), objectRemoved: (f) => void again.push(`removed ${f}`) } });
    await new Promise((resolve) => setTimeout(resolve, 900));
    await second.close();
    assert.deepEqual(again, []);
  });
});
