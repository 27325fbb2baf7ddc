import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { ConversionReport } from '../../src/pipeline/run.js';
import { vitrine } from '../helpers/cli.js';
import { pagePicture } from '../helpers/corpus.js';
import { tempDirForSuite } from '../helpers/server.js';

/** The `metadata` anomalies of a dry run, as `folder: detail`. */
async function problems(masters: string, ...args: string[]): Promise<string[]> {
  const result = await vitrine('convert', masters, '--out', path.join(masters, '..', 'out'), '--dry-run', '--json', ...args);
  assert.equal(result.code, 0, result.stderr);
  const report = JSON.parse(result.stdout) as ConversionReport;
  return report.anomalies.filter((a) => a.kind === 'metadata').map((a) => `${a.object}: ${a.detail}`).sort();
}

describe('convert checks every collection.yml and names the file and field of each problem', () => {
  const tmp = tempDirForSuite('vitrine-collection-metadata-');

  /** A masters tree: `Series/Box N/001.tif` for each box, plus the given files. */
  async function masters(name: string, boxes: number, files: Record<string, string>): Promise<string> {
    const root = path.join(tmp.dir, name, 'masters');
    for (let n = 1; n <= boxes; n++) {
      await mkdir(path.join(root, 'Series', `Box ${n}`), { recursive: true });
      await pagePicture(n).tiff().toFile(path.join(root, 'Series', `Box ${n}`, '001.tif'));
    }
    for (const [file, text] of Object.entries(files)) await writeFile(path.join(root, ...file.split('/')), text);
    return root;
  }

  it('a thumbnail that names no object or no page, bad YAML, a second file, a nested unknown key', async () => {
    const root = await masters('bad', 2, {
      'collection.yml': 'label: Top\nthumbnail: Box 7\n',
      'Series/collection.yml': 'label: The series\nthumbnail: { object: Box 2, page: 9 }\n',
      'Series/collection.json': '{ "label": "ignored" }',
      'Series/Box 1/collection.yml': 'label: [unclosed\n',
    });
    assert.deepEqual(await problems(root), [
      ".: collection.yml: thumbnail: no object 'Box 7' in this collection (give the folder of one of its objects, from this folder)",
      'Series/Box 1: Series/Box 1/collection.yml: Series/Box 1 is not a collection (a collection is a folder of objects; describe a single object in manifest.yml)',
      'Series: Series/collection.json ignored: Series/collection.yml is read',
      'Series: Series/collection.yml: thumbnail: no page 9 (the object has 1)',
    ]);
    await writeFile(path.join(root, 'collection.yml'), 'label: Top\nthumbnail: { object: Series/Box 1, side: recto }\n');
    await writeFile(path.join(root, 'Series', 'collection.yml'), 'label: [unclosed\n');
    const again = await problems(root);
    assert.ok(again.includes('.: collection.yml: thumbnail.side: unknown key; not applied'), JSON.stringify(again));
    assert.ok(again.some((p) => /^Series: Series\/collection\.yml: not valid YAML: .+; not applied$/.test(p)), JSON.stringify(again));
  });

  it('finds the thumbnail by folder or by id, in any case, from the collection and from the top', async () => {
    const root = await masters('good', 2, {
      'collection.yml': 'thumbnail: series/box-2\n',
      'Series/collection.yml': 'thumbnail: { object: BOX 1, page: 001.tif }\n',
    });
    assert.deepEqual(await problems(root), []);
  });

  it('a real run reports them too, in its summary and in its NDJSON page log', async () => {
    const root = await masters('logged', 3, {
      'Series/collection.yml': 'label: The series\nthumbnail: { object: Box 3, page: 2 }\n',
      'Series/Box 1/collection.yml': 'label: A box\n',
    });
    const result = await vitrine('convert', root, '--out', path.join(root, '..', 'out'), '--json');
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout) as ConversionReport;
    const expected = [
      'Series/Box 1: Series/Box 1/collection.yml: Series/Box 1 is not a collection (a collection is a folder of objects; describe a single object in manifest.yml)',
      'Series: Series/collection.yml: thumbnail: no page 2 (the object has 1)',
    ];
    assert.deepEqual(report.anomalies.map((a) => `${a.object}: ${a.detail}`).sort(), expected);
    const lines = (await readFile(report.pages!, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { event: string; object?: string; detail?: string });
    const logged = lines.filter((l) => l.event === 'anomaly').map((l) => `${l.object}: ${l.detail}`);
    assert.deepEqual(logged.sort(), expected);
  });

  it('with naming rules whose ids do not follow the folders, a collection.yml is reported, not misapplied', async () => {
    const root = await masters('rules', 2, { 'Series/collection.yml': 'label: The series\n' });
    const rules = path.join(tmp.dir, 'rules', 'rules.yml');
    await writeFile(rules, "rules:\n  - pattern: 'Box (?<box>\\d+)/(?<sequence>\\d+)'\n    on: path\n    object: 'box-{box}'\n");
    assert.deepEqual(await problems(root, '--rules', rules), [
      'Series: Series/collection.yml: the objects below Series have ids that do not follow its folders (naming rules), so it has no collection; not applied',
    ]);
  });
});
